//! CVSS base scores from vectors: v2.0, v3.0, v3.1 and v4.0 (FIRST
//! specifications). A leaf: strings in, numbers out.
//!
//! For v4.0 the score of the vector as written is computed (CVSS-B, or
//! CVSS-BT / CVSS-BE / CVSS-BTE when threat or environmental metrics are
//! present), with the macrovector method of the specification (section 8).
use std::collections::HashMap;

mod v4_table;

/// The CVSS version of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Version {
    #[serde(rename = "2.0")]
    V2,
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4,
}

/// Qualitative severity rating of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Rating {
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::None => "none",
            Rating::Low => "low",
            Rating::Medium => "medium",
            Rating::High => "high",
            Rating::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Score {
    pub version: Version,
    /// 0.0 ..= 10.0, one decimal.
    pub base_score: f64,
    pub rating: Rating,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvssError {
    #[error("CVSS vector `{vector}`: {reason}")]
    Invalid { vector: String, reason: String },
}

/// The base score of a vector: `CVSS:3.1/…`, `CVSS:3.0/…`, `CVSS:4.0/…`,
/// or a v2 vector (`AV:N/AC:L/Au:N/…`, optionally `(…)` or `CVSS:2.0/…`).
pub fn score(vector: &str) -> Result<Score, CvssError> {
    let trimmed = vector.trim();
    let invalid = |reason: &str| CvssError::Invalid {
        vector: vector.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(rest) = trimmed.strip_prefix("CVSS:3.1/") {
        let base = v3(rest, true).map_err(|reason| invalid(&reason))?;
        return Ok(Score {
            version: Version::V3_1,
            base_score: base,
            rating: rating_v3(base),
        });
    }
    if let Some(rest) = trimmed.strip_prefix("CVSS:3.0/") {
        let base = v3(rest, false).map_err(|reason| invalid(&reason))?;
        return Ok(Score {
            version: Version::V3_0,
            base_score: base,
            rating: rating_v3(base),
        });
    }
    if let Some(rest) = trimmed.strip_prefix("CVSS:4.0/") {
        let base = v4(rest).map_err(|reason| invalid(&reason))?;
        return Ok(Score {
            version: Version::V4,
            base_score: base,
            rating: rating_v3(base),
        });
    }
    if trimmed.starts_with("CVSS:") && !trimmed.starts_with("CVSS:2.0/") {
        return Err(invalid("unknown CVSS version"));
    }
    let rest = trimmed.strip_prefix("CVSS:2.0/").unwrap_or(trimmed);
    let rest = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest);
    let base = v2(rest).map_err(|reason| invalid(&reason))?;
    Ok(Score {
        version: Version::V2,
        base_score: base,
        rating: rating_v2(base),
    })
}

/// v3.x and v4.0 ratings (v4.0 uses the same bands).
fn rating_v3(score: f64) -> Rating {
    if score <= 0.0 {
        Rating::None
    } else if score < 4.0 {
        Rating::Low
    } else if score < 7.0 {
        Rating::Medium
    } else if score < 9.0 {
        Rating::High
    } else {
        Rating::Critical
    }
}

/// v2 has three bands (NVD): low < 4, medium < 7, high.
fn rating_v2(score: f64) -> Rating {
    if score < 4.0 {
        Rating::Low
    } else if score < 7.0 {
        Rating::Medium
    } else {
        Rating::High
    }
}

/// `AV:N/AC:L/…` → metric → value; duplicates, empty parts and values not
/// in `allowed` are errors; every `mandatory` metric must be present.
fn parse_metrics<'a>(
    text: &'a str,
    allowed: &[(&str, &[&str])],
    mandatory: &[&str],
) -> Result<HashMap<&'a str, &'a str>, String> {
    let mut metrics = HashMap::new();
    for part in text.split('/') {
        let Some((key, value)) = part.split_once(':') else {
            return Err(format!("`{part}` is not METRIC:VALUE"));
        };
        let Some((_, values)) = allowed.iter().find(|(name, _)| *name == key) else {
            return Err(format!("unknown metric `{key}`"));
        };
        if !values.contains(&value) {
            return Err(format!("`{key}:{value}`: unknown value"));
        }
        if metrics.insert(key, value).is_some() {
            return Err(format!("metric `{key}` given twice"));
        }
    }
    for key in mandatory {
        if !metrics.contains_key(key) {
            return Err(format!("missing metric `{key}`"));
        }
    }
    Ok(metrics)
}

fn get<'a>(metrics: &HashMap<&str, &'a str>, key: &str) -> &'a str {
    metrics.get(key).copied().unwrap_or("X")
}

/// Round half up to one decimal, robust against binary noise (0.15 → 0.2).
fn round1(value: f64) -> f64 {
    ((value * 10.0) + 0.5 + 1e-9).floor() / 10.0
}

fn v2(text: &str) -> Result<f64, String> {
    const ND: &[&str] = &["L", "M", "H", "ND"];
    let allowed: &[(&str, &[&str])] = &[
        ("AV", &["L", "A", "N"]),
        ("AC", &["H", "M", "L"]),
        ("Au", &["M", "S", "N"]),
        ("C", &["N", "P", "C"]),
        ("I", &["N", "P", "C"]),
        ("A", &["N", "P", "C"]),
        ("E", &["U", "POC", "F", "H", "ND"]),
        ("RL", &["OF", "TF", "W", "U", "ND"]),
        ("RC", &["UC", "UR", "C", "ND"]),
        ("CDP", &["N", "L", "LM", "MH", "H", "ND"]),
        ("TD", &["N", "L", "M", "H", "ND"]),
        ("CR", ND),
        ("IR", ND),
        ("AR", ND),
    ];
    let m = parse_metrics(text, allowed, &["AV", "AC", "Au", "C", "I", "A"])?;
    let access_vector = match get(&m, "AV") {
        "L" => 0.395,
        "A" => 0.646,
        _ => 1.0,
    };
    let access_complexity = match get(&m, "AC") {
        "H" => 0.35,
        "M" => 0.61,
        _ => 0.71,
    };
    let authentication = match get(&m, "Au") {
        "M" => 0.45,
        "S" => 0.56,
        _ => 0.704,
    };
    let impact_of = |key| match get(&m, key) {
        "P" => 0.275,
        "C" => 0.660,
        _ => 0.0,
    };
    let impact =
        10.41 * (1.0 - (1.0 - impact_of("C")) * (1.0 - impact_of("I")) * (1.0 - impact_of("A")));
    let exploitability = 20.0 * access_vector * access_complexity * authentication;
    let f = if impact == 0.0 { 0.0 } else { 1.176 };
    Ok(round1(((0.6 * impact) + (0.4 * exploitability) - 1.5) * f).max(0.0))
}

/// CVSS v3.1 Roundup (Appendix A): the smallest one-decimal number ≥ the
/// input, computed on integers to avoid floating-point surprises.
fn roundup_v31(value: f64) -> f64 {
    let integer = (value * 100_000.0).round() as i64;
    if integer % 10_000 == 0 {
        integer as f64 / 100_000.0
    } else {
        ((integer / 10_000) + 1) as f64 / 10.0
    }
}

/// CVSS v3.0 round up: ceiling to one decimal.
fn roundup_v30(value: f64) -> f64 {
    (value * 10.0 - 1e-9).ceil() / 10.0
}

fn v3(text: &str, v31: bool) -> Result<f64, String> {
    const X: &[&str] = &["X", "H", "M", "L"];
    let allowed: &[(&str, &[&str])] = &[
        ("AV", &["N", "A", "L", "P"]),
        ("AC", &["L", "H"]),
        ("PR", &["N", "L", "H"]),
        ("UI", &["N", "R"]),
        ("S", &["U", "C"]),
        ("C", &["H", "L", "N"]),
        ("I", &["H", "L", "N"]),
        ("A", &["H", "L", "N"]),
        ("E", &["X", "H", "F", "P", "U"]),
        ("RL", &["X", "U", "W", "T", "O"]),
        ("RC", &["X", "C", "R", "U"]),
        ("CR", X),
        ("IR", X),
        ("AR", X),
        ("MAV", &["X", "N", "A", "L", "P"]),
        ("MAC", &["X", "L", "H"]),
        ("MPR", &["X", "N", "L", "H"]),
        ("MUI", &["X", "N", "R"]),
        ("MS", &["X", "U", "C"]),
        ("MC", &["X", "H", "L", "N"]),
        ("MI", &["X", "H", "L", "N"]),
        ("MA", &["X", "H", "L", "N"]),
    ];
    let m = parse_metrics(text, allowed, &["AV", "AC", "PR", "UI", "S", "C", "I", "A"])?;
    let changed = get(&m, "S") == "C";
    let attack_vector: f64 = match get(&m, "AV") {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2,
    };
    let attack_complexity = if get(&m, "AC") == "L" { 0.77 } else { 0.44 };
    let privileges = match (get(&m, "PR"), changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27,
        (_, true) => 0.5,
    };
    let interaction = if get(&m, "UI") == "N" { 0.85 } else { 0.62 };
    let cia = |key| match get(&m, key) {
        "H" => 0.56,
        "L" => 0.22,
        _ => 0.0,
    };
    let iss: f64 = 1.0 - (1.0 - cia("C")) * (1.0 - cia("I")) * (1.0 - cia("A"));
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * attack_vector * attack_complexity * privileges * interaction;
    if impact <= 0.0 {
        return Ok(0.0);
    }
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Ok(if v31 {
        roundup_v31(raw)
    } else {
        roundup_v30(raw)
    })
}

/// Effective v4 metric values: modified (`M…`) over base; threat and
/// requirement defaults (`E:X` = `A`, `CR:X` = `H`).
struct V4<'a>(HashMap<&'a str, &'a str>);

impl V4<'_> {
    fn m(&self, key: &str) -> &str {
        let selected = self.0.get(key).copied().unwrap_or("X");
        match (key, selected) {
            ("E", "X") => return "A",
            ("CR" | "IR" | "AR", "X") => return "H",
            _ => {}
        }
        let modified = format!("M{key}");
        match self.0.get(modified.as_str()) {
            Some(&value) if value != "X" => value,
            _ => selected,
        }
    }

    fn level(&self, key: &str) -> f64 {
        level(key, self.m(key))
    }
}

/// The metrics whose severity distances the v4.0 scoring measures.
const KEYS: [&str; 15] = [
    "AV", "PR", "UI", "AC", "AT", "VC", "VI", "VA", "SC", "SI", "SA", "CR", "IR", "AR", "E",
];

/// Severity distance levels of the v4.0 scoring (0 = most severe).
fn level(key: &str, value: &str) -> f64 {
    let steps: u8 = match key {
        "AV" => match value {
            "A" => 1,
            "L" => 2,
            "P" => 3,
            _ => 0,
        },
        "PR" | "UI" | "AC" | "AT" => match value {
            "L" | "P" | "H" if key == "AC" => u8::from(value == "H"),
            "L" | "P" => 1,
            "H" | "A" => 2,
            _ => 0,
        },
        "VC" | "VI" | "VA" | "CR" | "IR" | "AR" => match value {
            "L" if key.ends_with('R') => 2,
            "L" | "M" => 1,
            "N" => 2,
            _ => 0,
        },
        "SC" | "SI" | "SA" => match value {
            "H" => 1,
            "L" => 2,
            "N" => 3,
            _ => 0,
        },
        _ => 0,
    };
    f64::from(steps) / 10.0
}

fn v4(text: &str) -> Result<f64, String> {
    const CIA: &[&str] = &["H", "L", "N"];
    const MCIA: &[&str] = &["X", "H", "L", "N"];
    const MSIA: &[&str] = &["X", "S", "H", "L", "N"];
    const REQ: &[&str] = &["X", "H", "M", "L"];
    let allowed: &[(&str, &[&str])] = &[
        ("AV", &["N", "A", "L", "P"]),
        ("AC", &["L", "H"]),
        ("AT", &["N", "P"]),
        ("PR", &["N", "L", "H"]),
        ("UI", &["N", "P", "A"]),
        ("VC", CIA),
        ("VI", CIA),
        ("VA", CIA),
        ("SC", CIA),
        ("SI", CIA),
        ("SA", CIA),
        ("E", &["X", "A", "P", "U"]),
        ("CR", REQ),
        ("IR", REQ),
        ("AR", REQ),
        ("MAV", &["X", "N", "A", "L", "P"]),
        ("MAC", &["X", "L", "H"]),
        ("MAT", &["X", "N", "P"]),
        ("MPR", &["X", "N", "L", "H"]),
        ("MUI", &["X", "N", "P", "A"]),
        ("MVC", MCIA),
        ("MVI", MCIA),
        ("MVA", MCIA),
        ("MSC", MCIA),
        ("MSI", MSIA),
        ("MSA", MSIA),
        ("S", &["X", "N", "P"]),
        ("AU", &["X", "N", "Y"]),
        ("R", &["X", "A", "U", "I"]),
        ("V", &["X", "D", "C"]),
        ("RE", &["X", "L", "M", "H"]),
        ("U", &["X", "Clear", "Green", "Amber", "Red"]),
    ];
    let metrics = parse_metrics(
        text,
        allowed,
        &[
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ],
    )?;
    let v = V4(metrics);
    if ["VC", "VI", "VA", "SC", "SI", "SA"]
        .iter()
        .all(|key| v.m(key) == "N")
    {
        return Ok(0.0);
    }
    let (av, pr, ui) = (v.m("AV"), v.m("PR"), v.m("UI"));
    let eq1 = if av == "N" && pr == "N" && ui == "N" {
        0
    } else if (av == "N" || pr == "N" || ui == "N") && av != "P" {
        1
    } else {
        2
    };
    let eq2 = usize::from(!(v.m("AC") == "L" && v.m("AT") == "N"));
    let (vc, vi, va) = (v.m("VC"), v.m("VI"), v.m("VA"));
    let eq3 = if vc == "H" && vi == "H" {
        0
    } else if vc == "H" || vi == "H" || va == "H" {
        1
    } else {
        2
    };
    let eq4 = if v.m("MSI") == "S" || v.m("MSA") == "S" {
        0
    } else if v.m("SC") == "H" || v.m("SI") == "H" || v.m("SA") == "H" {
        1
    } else {
        2
    };
    let eq5 = match v.m("E") {
        "A" => 0,
        "P" => 1,
        _ => 2,
    };
    let eq6 = usize::from(
        !((v.m("CR") == "H" && vc == "H")
            || (v.m("IR") == "H" && vi == "H")
            || (v.m("AR") == "H" && va == "H")),
    );
    let lookup = |e1: usize, e2: usize, e3: usize, e4: usize, e5: usize, e6: usize| -> f64 {
        if e1 > 2 || e2 > 1 || e3 > 2 || e4 > 2 || e5 > 2 || e6 > 1 {
            return f64::NAN;
        }
        let index = ((((e1 * 2 + e2) * 3 + e3) * 3 + e4) * 3 + e5) * 2 + e6;
        v4_table::LOOKUP.get(index).copied().unwrap_or(f64::NAN)
    };
    let value = lookup(eq1, eq2, eq3, eq4, eq5, eq6);
    if value.is_nan() {
        return Err("no macrovector score (inconsistent metrics)".to_owned());
    }
    let lower_eq1 = lookup(eq1 + 1, eq2, eq3, eq4, eq5, eq6);
    let lower_eq2 = lookup(eq1, eq2 + 1, eq3, eq4, eq5, eq6);
    let lower_eq3eq6 = match (eq3, eq6) {
        (0 | 1, 1) => lookup(eq1, eq2, eq3 + 1, eq4, eq5, eq6),
        (1, 0) => lookup(eq1, eq2, eq3, eq4, eq5, eq6 + 1),
        (0, 0) => {
            let left = lookup(eq1, eq2, eq3, eq4, eq5, eq6 + 1);
            let right = lookup(eq1, eq2, eq3 + 1, eq4, eq5, eq6);
            if left.is_nan() || right.is_nan() {
                f64::NAN
            } else {
                left.max(right)
            }
        }
        _ => lookup(eq1, eq2, eq3 + 1, eq4, eq5, eq6 + 1),
    };
    let lower_eq4 = lookup(eq1, eq2, eq3, eq4 + 1, eq5, eq6);
    let lower_eq5 = lookup(eq1, eq2, eq3, eq4, eq5 + 1, eq6);

    // The highest-severity vector of this macrovector that the vector does
    // not exceed in any metric.
    let empty: &[&str] = &[];
    let eq1_max = v4_table::MAX_COMPOSED_EQ1
        .get(eq1)
        .copied()
        .unwrap_or(empty);
    let eq2_max = v4_table::MAX_COMPOSED_EQ2
        .get(eq2)
        .copied()
        .unwrap_or(empty);
    let eq3eq6_max = v4_table::MAX_COMPOSED_EQ3EQ6
        .get(eq3)
        .and_then(|row| row.get(eq6))
        .copied()
        .unwrap_or(empty);
    let eq4_max = v4_table::MAX_COMPOSED_EQ4
        .get(eq4)
        .copied()
        .unwrap_or(empty);
    let eq5_max = v4_table::MAX_COMPOSED_EQ5
        .get(eq5)
        .copied()
        .unwrap_or(empty);
    let distances_to = |max_vector: &str| -> Option<HashMap<&'static str, f64>> {
        let max_metrics: HashMap<&str, &str> = max_vector
            .split('/')
            .filter_map(|part| part.split_once(':'))
            .collect();
        let mut found = HashMap::new();
        for key in KEYS {
            let max_value = max_metrics.get(key).copied().unwrap_or("X");
            let distance = v.level(key) - level(key, max_value);
            if distance < -1e-9 {
                return None;
            }
            found.insert(key, distance);
        }
        Some(found)
    };
    let mut distances = None;
    'search: for a in eq1_max {
        for b in eq2_max {
            for c in eq3eq6_max {
                for d in eq4_max {
                    for e in eq5_max {
                        distances = distances_to(&format!("{a}{b}{c}{d}{e}"));
                        if distances.is_some() {
                            break 'search;
                        }
                    }
                }
            }
        }
    }
    let Some(distances) = distances else {
        return Err("no maximal vector for the macrovector".to_owned());
    };
    let d = |key: &str| distances.get(key).copied().unwrap_or(0.0);
    let step = 0.1;
    let current_eq1 = d("AV") + d("PR") + d("UI");
    let current_eq2 = d("AC") + d("AT");
    let current_eq3eq6 = d("VC") + d("VI") + d("VA") + d("CR") + d("IR") + d("AR");
    let current_eq4 = d("SC") + d("SI") + d("SA");
    let max_eq1 = f64::from(v4_table::MAX_SEVERITY_EQ1.get(eq1).copied().unwrap_or(0)) * step;
    let max_eq2 = f64::from(v4_table::MAX_SEVERITY_EQ2.get(eq2).copied().unwrap_or(0)) * step;
    let max_eq3eq6 = f64::from(
        v4_table::MAX_SEVERITY_EQ3EQ6
            .get(eq3)
            .and_then(|row| row.get(eq6))
            .copied()
            .unwrap_or(0),
    ) * step;
    let max_eq4 = f64::from(v4_table::MAX_SEVERITY_EQ4.get(eq4).copied().unwrap_or(0)) * step;

    let mut count = 0u32;
    let mut total = 0.0;
    for (lower, current, max) in [
        (lower_eq1, current_eq1, max_eq1),
        (lower_eq2, current_eq2, max_eq2),
        (lower_eq3eq6, current_eq3eq6, max_eq3eq6),
        (lower_eq4, current_eq4, max_eq4),
        (
            lower_eq5,
            0.0,
            f64::from(v4_table::MAX_SEVERITY_EQ5.get(eq5).copied().unwrap_or(1)) * step,
        ),
    ] {
        let available = value - lower;
        if available.is_nan() || available < 0.0 {
            continue;
        }
        count += 1;
        total += available * (current / max);
    }
    let mean = if count == 0 {
        0.0
    } else {
        total / f64::from(count)
    };
    let score = (value - mean).clamp(0.0, 10.0);
    Ok(round1_half_up_v4(score))
}

/// v4.0 rounds half up after adding 1e-6 (FIRST calculator behaviour).
fn round1_half_up_v4(value: f64) -> f64 {
    ((value + 1e-6) * 10.0 + 0.5).floor() / 10.0
}

#[cfg(test)]
mod tests;
