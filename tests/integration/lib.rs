//! Nothing here: this package exists for its tests and examples (see its Cargo.toml), which
//! need libzmq, SQLite or tokio, kept out of the main package so that its examples build
//! quickly.
