//! Tests of the certificate-error vocabulary.

use super::*;

#[test]
fn values_match_the_winrt_enum() {
    for (value, result) in ChainValidationResult::ALL.into_iter().enumerate() {
        assert_eq!(usize::from(result.value()), value);
        assert_eq!(
            ChainValidationResult::from_value(result.value()),
            Some(result)
        );
    }
    assert_eq!(ChainValidationResult::Success.value(), 0);
    assert_eq!(ChainValidationResult::OtherErrors.value(), 13);
}
