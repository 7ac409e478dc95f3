//! SLIP-39's RS1024 checksum: a Reed–Solomon code over GF(1024) on the mnemonic's 10-bit
//! words, three check words, with a customization string fed in before the data.

/// The generator of SLIP-39 § "Checksum".
const GENERATOR: [u32; 10] = [
    0x00e0_e040,
    0x01c1_c080,
    0x0383_8100,
    0x0707_0200,
    0x0e0e_0009,
    0x1c0c_2412,
    0x3808_6c24,
    0x3090_fc48,
    0x21b1_f890,
    0x03f3_f120,
];

/// Words in a checksum.
pub const CHECKSUM_WORDS: usize = 3;

/// The customization string of a share whose extendable flag is clear.
const CUSTOMIZATION: &str = "shamir";

/// The customization string of a share whose extendable flag is set.
const CUSTOMIZATION_EXTENDABLE: &str = "shamir_extendable";

fn customization(extendable: bool) -> &'static str {
    if extendable {
        CUSTOMIZATION_EXTENDABLE
    } else {
        CUSTOMIZATION
    }
}

fn polymod(values: impl Iterator<Item = u16>) -> u32 {
    let mut checksum: u32 = 1;
    for value in values {
        let top = checksum >> 20;
        checksum = ((checksum & 0xf_ffff) << 10) ^ u32::from(value);
        for (bit, generator) in GENERATOR.iter().enumerate() {
            if (top >> bit) & 1 == 1 {
                checksum ^= generator;
            }
        }
    }
    checksum
}

fn with_customization(extendable: bool, data: &[u16]) -> impl Iterator<Item = u16> + '_ {
    customization(extendable)
        .bytes()
        .map(u16::from)
        .chain(data.iter().copied())
}

/// The three check words for `data` (all words before the checksum).
pub fn create(extendable: bool, data: &[u16]) -> [u16; CHECKSUM_WORDS] {
    let residue = polymod(with_customization(extendable, data).chain([0; CHECKSUM_WORDS])) ^ 1;
    [20, 10, 0].map(|shift| ((residue >> shift) & 1023) as u16)
}

/// Whether `words` (data and checksum) carry a valid checksum.
pub fn verify(extendable: bool, words: &[u16]) -> bool {
    polymod(with_customization(extendable, words)) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A created checksum verifies, and changing any one word or the flag breaks it.
    #[test]
    fn created_checksums_verify_and_detect_changes() {
        let data: Vec<u16> = (0..30).map(|i| (i * 37 + 5) % 1024).collect();
        for extendable in [false, true] {
            let mut words = data.clone();
            words.extend(create(extendable, &data));
            assert!(verify(extendable, &words));
            assert!(!verify(!extendable, &words));
            for position in 0..words.len() {
                let mut changed = words.clone();
                changed[position] ^= 1;
                assert!(!verify(extendable, &changed), "word {position}");
            }
        }
    }
}
