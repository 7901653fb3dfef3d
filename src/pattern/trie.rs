//! A radix trie of subscriptions with a count per prefix.
//!
//! Every edge carries a run of bytes, so a prefix of any length costs one node and its bytes,
//! and a chain of nodes exists only where distinct subscriptions branch. Every operation, and
//! `Drop`, is a loop: the depth of the trie is up to peers (a subscription is whatever a peer
//! sends), so nothing here may recurse on it.

use bytes::Bytes;

/// Subscribed prefixes, each with how many times it was subscribed.
#[derive(Default, Debug)]
pub struct Trie {
    root: Node,
}

#[derive(Default, Debug)]
struct Node {
    /// The bytes on the edge from the parent (empty only at the root).
    label: Vec<u8>,
    /// Subscriptions to exactly the path down to here, label included.
    count: u32,
    /// Each child with the first byte of its label, sorted by that byte; no two children
    /// share it (that is what makes the trie radix). The byte is kept beside the child so that
    /// finding one reads only this array.
    children: Vec<(u8, Node)>,
}

impl Node {
    fn child_index(&self, first: u8) -> Result<usize, usize> {
        self.children.binary_search_by_key(&first, |(byte, _)| *byte)
    }

    /// The child whose label starts `rest`, and the rest after it.
    fn step<'a, 'b>(&'a self, rest: &'b [u8]) -> Option<(&'a Node, &'b [u8])> {
        let i = self.child_index(*rest.first()?).ok()?;
        let child = &self.children[i].1;
        let after = rest.strip_prefix(&child.label[..])?;
        Some((child, after))
    }

    /// A node with no subscription and a single child is folded into that child, so that the
    /// trie stays compressed after a removal. The root (empty label) is never folded.
    fn fold_single_child(&mut self) {
        if self.count == 0 && self.children.len() == 1 && !self.label.is_empty() {
            let (_, mut child) = self.children.pop().expect("one child");
            self.label.extend_from_slice(&child.label);
            self.count = child.count;
            self.children = std::mem::take(&mut child.children);
        }
    }
}

impl Drop for Node {
    /// Frees the subtree with an explicit stack: the default drop glue recurses per level.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.children);
        while let Some((_, mut node)) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Trie {
    /// Counts one more subscription to `prefix`; true if it was new.
    pub fn add(&mut self, prefix: &[u8]) -> bool {
        let mut node = &mut self.root;
        let mut rest = prefix;
        while let Some(&first) = rest.first() {
            let i = match node.child_index(first) {
                Ok(i) => i,
                Err(i) => {
                    let leaf = Node {
                        label: rest.to_vec(),
                        count: 0,
                        children: Vec::new(),
                    };
                    node.children.insert(i, (first, leaf));
                    rest = &[];
                    node = &mut node.children[i].1;
                    break;
                }
            };
            let child = &mut node.children[i].1;
            let shared = common_prefix_len(&child.label, rest);
            if shared < child.label.len() {
                // Split the edge: the shared part becomes a node above the old child.
                let tail = child.label.split_off(shared);
                let head = std::mem::take(&mut child.label);
                let above = Node {
                    label: head,
                    count: 0,
                    children: Vec::new(),
                };
                let mut below = std::mem::replace(child, above);
                below.label = tail;
                child.children.push((below.label[0], below));
            }
            rest = &rest[shared..];
            node = child;
        }
        debug_assert!(rest.is_empty());
        node.count = node.count.saturating_add(1);
        node.count == 1
    }

    /// Removes one subscription to `prefix`; true if that was the last one.
    pub fn remove(&mut self, prefix: &[u8]) -> bool {
        // First find the path (child indices) without changing anything.
        let mut path = smallvec::SmallVec::<[usize; 16]>::new();
        let mut node = &self.root;
        let mut rest = prefix;
        while let Some(&first) = rest.first() {
            let Ok(i) = node.child_index(first) else {
                return false;
            };
            let Some(after) = rest.strip_prefix(&node.children[i].1.label[..]) else {
                return false;
            };
            path.push(i);
            node = &node.children[i].1;
            rest = after;
        }
        if node.count == 0 {
            return false;
        }
        // Then walk down to the parent of the target and tidy up at most two levels.
        let Some((&last, above)) = path.split_last() else {
            self.root.count -= 1;
            return self.root.count == 0;
        };
        let mut parent = &mut self.root;
        for &i in above {
            parent = &mut parent.children[i].1;
        }
        let target = &mut parent.children[last].1;
        target.count -= 1;
        if target.count > 0 {
            return false;
        }
        if target.children.is_empty() {
            parent.children.remove(last);
            parent.fold_single_child();
        } else {
            target.fold_single_child();
        }
        true
    }

    /// Whether exactly `prefix` is subscribed.
    pub fn contains(&self, prefix: &[u8]) -> bool {
        let mut node = &self.root;
        let mut rest = prefix;
        while !rest.is_empty() {
            match node.step(rest) {
                Some((next, after)) => (node, rest) = (next, after),
                None => return false,
            }
        }
        node.count > 0
    }

    /// Whether any subscribed prefix is a prefix of `data`.
    pub fn matches(&self, data: &[u8]) -> bool {
        let mut node = &self.root;
        let mut rest = data;
        loop {
            if node.count > 0 {
                return true;
            }
            match node.step(rest) {
                Some((next, after)) => (node, rest) = (next, after),
                None => return false,
            }
        }
    }

    /// Whether nothing is subscribed.
    pub fn is_empty(&self) -> bool {
        self.root.count == 0 && self.root.children.is_empty()
    }

    /// Checks the shape the operations keep: labels non-empty below the root, children
    /// sorted by distinct first bytes, and no node without a subscription and with fewer than
    /// two children (except the root). For the model tests and the fuzz target.
    #[doc(hidden)]
    pub fn check_shape(&self) -> Result<(), String> {
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            let is_root = std::ptr::eq(node, &self.root);
            if !is_root && node.label.is_empty() {
                return Err("a node below the root has an empty label".into());
            }
            if !is_root && node.count == 0 && node.children.len() < 2 {
                return Err(format!("an uncompressed node: {:?}", node.label));
            }
            if node
                .children
                .iter()
                .any(|(byte, c)| c.label.first() != Some(byte))
            {
                return Err(format!(
                    "a child's key is not its first byte under {:?}",
                    node.label
                ));
            }
            if !node.children.windows(2).all(|w| w[0].0 < w[1].0) {
                return Err(format!("children out of order under {:?}", node.label));
            }
            stack.extend(node.children.iter().map(|(_, c)| c));
        }
        Ok(())
    }

    /// Every subscribed prefix, once each, in byte order.
    pub fn prefixes(&self) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        // (node, length of the path above its label)
        let mut stack = vec![(&self.root, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            path.truncate(depth);
            path.extend_from_slice(&node.label);
            if node.count > 0 {
                out.push(Bytes::copy_from_slice(&path));
            }
            let depth = path.len();
            stack.extend(node.children.iter().rev().map(|(_, c)| (c, depth)));
        }
        out
    }
}

#[cfg(test)]
mod tests;
