use super::*;

fn base(vector: &str) -> f64 {
    score(vector).unwrap().base_score
}

/// The worked examples of FIRST's "CVSS v3.1 Examples" document.
#[test]
fn v31_first_examples() {
    let cases = [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1), // CVE-2013-1937 phpMyAdmin XSS
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4), // CVE-2013-0375 MySQL
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1), // CVE-2014-3566 POODLE
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9), // CVE-2012-1516 VMware
        ("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2), // CVE-2009-0783 Tomcat
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8), // CVE-2012-0384 Cisco IOS
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8), // CVE-2015-1098 iWork
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5), // CVE-2014-0160 Heartbleed
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), // CVE-2014-6271 Shellshock
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8), // CVE-2008-1447 DNS
        ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8), // CVE-2014-2005 Sophos
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8), // CVE-2010-0467 Joomla
        ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3), // CVE-2013-6014 Juniper
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N", 6.8), // CVE-2016-0128 Badlock
    ];
    for (vector, expected) in cases {
        assert!(
            (base(vector) - expected).abs() < 1e-9,
            "{vector}: {} != {expected}",
            base(vector)
        );
    }
    assert_eq!(score(cases[8].0).unwrap().rating, Rating::Critical);
    assert_eq!(score(cases[2].0).unwrap().rating, Rating::Low);
    assert!((base("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") - 9.8).abs() < 1e-9);
}

/// Examples of the CVSS v2 guide (section 3.3).
#[test]
fn v2_guide_examples() {
    assert!((base("AV:N/AC:L/Au:N/C:N/I:N/A:C") - 7.8).abs() < 1e-9); // CVE-2002-0392
    assert!((base("AV:N/AC:L/Au:N/C:C/I:C/A:C") - 10.0).abs() < 1e-9); // CVE-2003-0818
    assert!((base("(AV:L/AC:H/Au:N/C:C/I:C/A:C)") - 6.2).abs() < 1e-9); // CVE-2003-0062
    assert_eq!(
        score("AV:N/AC:L/Au:N/C:N/I:N/A:C").unwrap().rating,
        Rating::High
    );
}

/// v4.0: the specification's all-High network vector, and scores from the
/// FIRST calculator algorithm as computed by the `cvss` package (PyPI).
#[test]
fn v4_examples() {
    let cases = [
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
        ),
        (
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.4,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
            6.9,
        ),
        (
            "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:L",
            1.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U",
            9.1,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:L/IR:L/AR:L/MSI:S/MSA:S",
            9.4,
        ),
        (
            "CVSS:4.0/AV:A/AC:H/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:N/SA:N",
            1.0,
        ),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N",
            0.0,
        ),
    ];
    for (vector, expected) in cases {
        assert!(
            (base(vector) - expected).abs() < 1e-9,
            "{vector}: {} != {expected}",
            base(vector)
        );
    }
    assert_eq!(
        v4_table::LOOKUP.iter().filter(|v| !v.is_nan()).count(),
        v4_table::LOOKUP_ENTRIES
    );
    assert_eq!(v4_table::LOOKUP_ENTRIES, 270);
}

#[test]
fn invalid_vectors() {
    for vector in [
        "",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", // missing A
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H", // duplicate
        "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", // bad value
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:U/A:U", // NSWG-ECO-504's vector
        "CVSS:5.0/AV:N",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", // missing SA
        "AV:N/AC:L/Au:N/C:N/I:N",
    ] {
        assert!(score(vector).is_err(), "{vector}");
    }
}
