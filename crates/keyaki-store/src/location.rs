//! Where the findings store lives by default.

use std::path::PathBuf;

/// Environment variable naming the findings store.
pub const ENV_DB: &str = "KEYAKI_DB";

/// The default findings store: `$KEYAKI_DB`, else `$XDG_DATA_HOME/keyaki/findings.db`,
/// else `$HOME/.local/share/keyaki/findings.db`; `None` when none of these is set.
pub fn default_path() -> Option<PathBuf> {
    from_env(|k| std::env::var_os(k))
}

fn from_env(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(db) = set(ENV_DB) {
        return Some(db);
    }
    if let Some(data) = set("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Some(data.join("keyaki").join("findings.db"));
    }
    set("HOME").map(|home| home.join(".local/share/keyaki/findings.db"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn keyaki_db_wins() {
        let e = env(&[
            ("KEYAKI_DB", "/x/f.db"),
            ("XDG_DATA_HOME", "/d"),
            ("HOME", "/h"),
        ]);
        assert_eq!(from_env(e), Some(PathBuf::from("/x/f.db")));
    }

    #[test]
    fn xdg_data_home_then_home() {
        let e = env(&[("XDG_DATA_HOME", "/d"), ("HOME", "/h")]);
        assert_eq!(from_env(e), Some(PathBuf::from("/d/keyaki/findings.db")));
        let e = env(&[("XDG_DATA_HOME", "relative"), ("HOME", "/h")]);
        assert_eq!(
            from_env(e),
            Some(PathBuf::from("/h/.local/share/keyaki/findings.db"))
        );
        assert_eq!(from_env(env(&[("KEYAKI_DB", "")])), None);
    }
}
