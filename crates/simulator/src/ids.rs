//! Deterministic identifiers and hashes, so the same story always produces the same documents and ETags.

/// FNV-1a over bytes. It is stable across Rust versions and processes, unlike
/// `DefaultHasher`, which matters because ETags must not change between identical polls.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A strong integer mixer (SplitMix64), used to turn counters into ids that look random.
pub(crate) fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn encode(seed: u64, len: usize, alphabet: &[u8]) -> String {
    let mut state = seed;
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        state = mix(state);
        let index = (state % alphabet.len() as u64) as usize;
        out.push(char::from(alphabet[index]));
    }
    out
}

/// A lowercase base36 id such as Statuspage uses for pages, incidents and updates.
pub(crate) fn base36(seed: u64, len: usize) -> String {
    encode(seed, len, BASE36)
}

/// A mixed-case base62 id such as the API uses after `req_` and `msg_`.
pub(crate) fn base62(seed: u64, len: usize) -> String {
    encode(seed, len, BASE62)
}

/// The id of a derived object, seeded by a parent id and an index.
pub(crate) fn derived_base36(parent: &str, index: usize) -> String {
    base36(
        fnv1a64(parent.as_bytes()) ^ (index as u64).wrapping_mul(0x100_0000_01b3),
        12,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_shaped() {
        assert_eq!(base36(7, 12), base36(7, 12));
        assert_ne!(base36(7, 12), base36(8, 12));
        assert_eq!(base36(7, 12).len(), 12);
        assert!(base62(1, 20).chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    }
}
