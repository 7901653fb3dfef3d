//! CRC-32C (Castagnoli), the checksum of spool records: the CPU's instruction where there
//! is one (x86-64 with SSE4.2), a lookup table otherwise.

const POLY: u32 = 0x82F6_3B78; // reflected Castagnoli polynomial

// A static, not a const: a const is materialised (8 KiB copied) at each use in debug builds.
static TABLE: [[u32; 256]; 8] = build_tables();

const fn build_tables() -> [[u32; 256]; 8] {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut t = 1;
    while t < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[t - 1][i];
            tables[t][i] = (prev >> 8) ^ tables[0][(prev & 0xFF) as usize];
            i += 1;
        }
        t += 1;
    }
    tables
}

/// Extends a running CRC-32C with `data` (start with 0).
pub(crate) fn extend(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2, checked just above.
        return unsafe { extend_sse42(crc, data) };
    }
    extend_table(crc, data)
}

/// With the CPU's `crc32` instruction: 8 bytes at a time, some 3-4 times the table's speed
/// (a 1 KiB record's checksum was an eighth of a spooled sender's time).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn extend_sse42(crc: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u8, _mm_crc32_u64};
    let mut wide = u64::from(!crc);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        wide = _mm_crc32_u64(wide, word);
    }
    let mut crc = wide as u32;
    for &b in chunks.remainder() {
        crc = _mm_crc32_u8(crc, b);
    }
    !crc
}

/// The table-driven CRC (slicing by 8), for CPUs without the instruction.
fn extend_table(crc: u32, data: &[u8]) -> u32 {
    let mut crc = !crc;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        crc = TABLE[7][(lo & 0xFF) as usize]
            ^ TABLE[6][((lo >> 8) & 0xFF) as usize]
            ^ TABLE[5][((lo >> 16) & 0xFF) as usize]
            ^ TABLE[4][(lo >> 24) as usize]
            ^ TABLE[3][c[4] as usize]
            ^ TABLE[2][c[5] as usize]
            ^ TABLE[1][c[6] as usize]
            ^ TABLE[0][c[7] as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ TABLE[0][((crc ^ u32::from(b)) & 0xFF) as usize];
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // RFC 3720 (iSCSI) test vectors for CRC-32C.
        assert_eq!(extend(0, b"123456789"), 0xE306_9283);
        assert_eq!(extend(0, &[0u8; 32]), 0x8A91_36AA);
        assert_eq!(extend(0, &[0xFFu8; 32]), 0x62A8_AB43);
        let split = extend(extend(0, b"1234"), b"56789");
        assert_eq!(split, 0xE306_9283);
        assert_eq!(extend_table(0, b"123456789"), 0xE306_9283);
    }

    proptest::proptest! {
        /// The instruction and the table agree on any data, split anywhere.
        #[test]
        fn both_ways_agree(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), cut in 0usize..300) {
            let cut = cut.min(data.len());
            let whole = extend_table(0, &data);
            proptest::prop_assert_eq!(extend(0, &data), whole);
            proptest::prop_assert_eq!(extend(extend(0, &data[..cut]), &data[cut..]), whole);
        }
    }
}
