//! Reading inputs (files, standard input, durations) and writing for people (colour, times).

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};

/// Reads `name` (a file, or `-` for standard input) as text.
pub(crate) fn read_text(name: &str, what: &str) -> Result<String> {
    if name == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .with_context(|| format!("cannot read the {what} from standard input"))?;
        return Ok(s);
    }
    std::fs::read_to_string(name).with_context(|| format!("cannot read {what} file {name}"))
}

/// A token given as an argument, or `-` for standard input; surrounding white space is
/// dropped.
pub(crate) fn read_token(arg: &str) -> Result<String> {
    let text = if arg == "-" {
        read_text("-", "token")?
    } else {
        arg.to_owned()
    };
    let token = text.trim();
    if token.is_empty() {
        bail!("no token given");
    }
    Ok(token.to_owned())
}

pub(crate) use signet_server::parse_duration;

/// Seconds since the epoch, on the system clock.
pub(crate) fn now() -> u64 {
    signet::Clock::now(&signet::SystemClock)
}

/// "3m", "2h 5m", "4d 1h": a span for people.
pub(crate) fn human(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m"),
        (0, _, 0) => format!("{h}h"),
        (0, _, _) => format!("{h}h {m}m"),
        (_, 0, _) => format!("{d}d"),
        _ => format!("{d}d {h}h"),
    }
}

/// "in 12m" or "3m ago", relative to now.
pub(crate) fn relative(at: u64) -> String {
    let now = now();
    if at > now {
        format!("in {}", human(at - now))
    } else {
        format!("{} ago", human(now - at))
    }
}

/// ANSI styling, on only for a terminal and when `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    on: bool,
}

impl Style {
    pub(crate) fn stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            on: std::io::stdout().is_terminal() && !no_color,
        }
    }

    pub(crate) fn paint(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_and_spans() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604_800));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        for bad in ["", "m", "1w", "-5m", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(human(59), "59s");
        assert_eq!(human(180), "3m");
        assert_eq!(human(3900), "1h 5m");
        assert_eq!(human(90_000), "1d 1h");
    }
}
