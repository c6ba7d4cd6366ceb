//! Decimal numbers of any length, kept as their digit strings.

use std::cmp::Ordering;

/// `digits` without its leading zeros (`""` for zero).
pub(crate) fn strip_zeros(digits: &str) -> &str {
    digits.trim_start_matches('0')
}

/// Compares two ASCII digit strings by numeric value.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether `digits` is a non-empty ASCII digit string.
pub(crate) fn is_digits(digits: &str) -> bool {
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
}

/// The canonical spelling of a digit string: no leading zeros, `0` for zero.
pub(crate) fn canonical(digits: &str) -> String {
    let stripped = strip_zeros(digits);
    if stripped.is_empty() {
        "0".to_owned()
    } else {
        stripped.to_owned()
    }
}

/// `digits + 1`, canonical.
pub(crate) fn increment(digits: &str) -> String {
    let mut bytes: Vec<u8> = canonical(digits).into_bytes();
    let mut carry = true;
    for byte in bytes.iter_mut().rev() {
        if !carry {
            break;
        }
        if *byte == b'9' {
            *byte = b'0';
        } else {
            *byte += 1;
            carry = false;
        }
    }
    if carry {
        bytes.insert(0, b'1');
    }
    String::from_utf8(bytes).unwrap_or_default()
}

/// Whether the digit string is zero.
pub(crate) fn is_zero(digits: &str) -> bool {
    strip_zeros(digits).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_any_length() {
        assert_eq!(compare("0010", "9"), Ordering::Greater);
        assert_eq!(compare("000", ""), Ordering::Equal);
        assert_eq!(
            compare(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn increments() {
        assert_eq!(increment("0"), "1");
        assert_eq!(increment("009"), "10");
        assert_eq!(increment("99999999999999999999"), "100000000000000000000");
    }
}
