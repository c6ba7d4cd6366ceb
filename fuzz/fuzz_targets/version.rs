//! Version parsing and comparison in every ecosystem over arbitrary
//! strings: never a panic, and the order is antisymmetric and reflexive.
//! The requirement checkers (npm ranges, Cargo requirements, PEP 440
//! specifier sets) run over the same strings.
#![no_main]
use drydock_version::{Ecosystem, compare, satisfies};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // `a<TAB>b`, or the same string on both sides.
    let (a, b) = text.split_once('\t').unwrap_or((text, text));
    for ecosystem in Ecosystem::ALL {
        let forward = compare(ecosystem, a, b);
        let backward = compare(ecosystem, b, a);
        match (&forward, &backward) {
            (Ok(forward), Ok(backward)) => assert_eq!(
                *forward,
                backward.reverse(),
                "{ecosystem}: `{a}` vs `{b}` is not antisymmetric"
            ),
            (Err(_), Err(_)) => {}
            _ => panic!("{ecosystem}: `{a}` vs `{b}` is valid one way only"),
        }
        if let Ok(order) = compare(ecosystem, a, a) {
            assert_eq!(order, std::cmp::Ordering::Equal, "{ecosystem}: `{a}` != itself");
        }
    }
    for ecosystem in [Ecosystem::Npm, Ecosystem::CratesIo, Ecosystem::PyPI] {
        let _ = satisfies(ecosystem, a, b);
        let _ = satisfies(ecosystem, b, a);
    }
    let _ = drydock_version::composer::normalize(a);
    let _ = drydock_version::apk::is_valid(a);
});
