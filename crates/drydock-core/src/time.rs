//! RFC 3339 times and the proleptic Gregorian calendar, shared by the
//! advisory database ("newer `modified` wins", import timestamps) and the
//! archive client (InRelease `Date`/`Valid-Until`). No time zone database
//! needed: only offsets.
use std::cmp::Ordering;

/// Seconds since the epoch and nanoseconds of an RFC 3339 date-time
/// (`2024-01-02T03:04:05.123Z`, `+01:00` offsets, a bare date).
pub fn parse_rfc3339(text: &str) -> Option<(i64, u32)> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let year = number(0..4)?;
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let month = number(5..7)?;
    let day = number(8..10)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        return Some((days * 86_400, 0));
    }
    if !matches!(bytes.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = number(11..13)?;
    let minute = number(14..16)?;
    let second = number(17..19)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut position = 19;
    let mut nanos: u32 = 0;
    if bytes.get(position) == Some(&b'.') {
        position += 1;
        let start = position;
        while bytes.get(position).is_some_and(u8::is_ascii_digit) {
            position += 1;
        }
        let digits = text.get(start..position)?;
        if digits.is_empty() {
            return None;
        }
        let mut scaled = String::from(digits.get(..digits.len().min(9))?);
        while scaled.len() < 9 {
            scaled.push('0');
        }
        nanos = scaled.parse().ok()?;
    }
    let offset = match bytes.get(position) {
        Some(b'Z' | b'z') if position + 1 == bytes.len() => 0,
        None => 0,
        Some(sign @ (b'+' | b'-')) if position + 6 == bytes.len() => {
            let hours = number(position + 1..position + 3)?;
            let minutes = number(position + 4..position + 6)?;
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    Some((
        days * 86_400 + hour * 3600 + minute * 60 + second - offset,
        nanos,
    ))
}

/// Orders two `modified` values by time; unparseable values sort before
/// parseable ones and among themselves as strings.
pub fn compare_times(a: &str, b: &str) -> Ordering {
    match (parse_rfc3339(a), parse_rfc3339(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// `2024-01-02T03:04:05Z` for seconds since the epoch.
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        );
    }
    // Listings format thousands of times: the digits by hand.
    let mut text = String::with_capacity(20);
    for (value, width, after) in [
        (year, 4, '-'),
        (month, 2, '-'),
        (day, 2, 'T'),
        (rest / 3600, 2, ':'),
        (rest % 3600 / 60, 2, ':'),
        (rest % 60, 2, 'Z'),
    ] {
        for power in (0..width).rev() {
            let digit = u32::try_from(value / 10_i64.pow(power) % 10).unwrap_or(0);
            text.push(char::from_digit(digit, 10).unwrap_or('0'));
        }
        text.push(after);
    }
    text
}

/// Now, in seconds since the epoch.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |duration| {
            i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
        })
}

// Howard Hinnant's days-from-civil / civil-from-days (proleptic Gregorian).
/// Days since 1970-01-01 of a proleptic Gregorian date (month 1–12).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        // `date -u -d 2024-10-10T12:34:56Z +%s` = 1728563696
        assert_eq!(
            parse_rfc3339("2024-10-10T12:34:56Z"),
            Some((1_728_563_696, 0))
        );
        assert_eq!(
            parse_rfc3339("2024-10-10T13:34:56.5+01:00"),
            Some((1_728_563_696, 500_000_000))
        );
        assert_eq!(format_rfc3339(1_728_563_696), "2024-10-10T12:34:56Z");
        assert_eq!(
            compare_times("2024-01-01T00:00:05.562874Z", "2024-01-01T00:00:05Z"),
            Ordering::Greater
        );
        assert_eq!(parse_rfc3339("2024-1"), None);
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00+0"), None);
    }

    #[test]
    fn formatted_times_parse_back() {
        // Both ends of the four-digit years, leap days, and a spread of
        // instants between; years outside 0–9999 still format.
        let mut instants = vec![
            -62_167_219_200, // 0000-01-01T00:00:00Z
            253_402_300_799, // 9999-12-31T23:59:59Z
            951_782_400,     // 2000-02-29T00:00:00Z
            0,
            -1,
        ];
        let mut x: i64 = 0x2545_f491;
        for _ in 0..10_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            instants.push(x.rem_euclid(253_402_300_800 + 62_167_219_200) - 62_167_219_200);
        }
        for seconds in instants {
            let text = format_rfc3339(seconds);
            assert_eq!(text.len(), 20, "{text}");
            assert_eq!(parse_rfc3339(&text), Some((seconds, 0)), "{text}");
        }
        assert_eq!(format_rfc3339(-62_167_219_201), "-001-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(253_402_300_800), "10000-01-01T00:00:00Z");
    }
}
