//! Cache warnings, shown once per kind per runtime: a render of 500
//! subcharts whose entries were all restored from elsewhere says so once,
//! not 500 times.

use std::collections::HashSet;
use std::sync::Mutex;

/// Warnings printed so far, and the kinds already printed.
#[derive(Debug, Default)]
pub(super) struct Warnings(Mutex<(HashSet<&'static str>, Vec<String>)>);

impl Warnings {
    /// Prints `message` on stderr as `warning: ...`, unless a warning of
    /// the same `kind` was already printed.
    pub(super) fn warn(&self, kind: &'static str, message: String) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if state.0.insert(kind) {
            eprintln!("warning: {message}");
            state.1.push(message);
        }
    }

    /// Every warning printed so far, without the `warning: ` prefix.
    pub(super) fn list(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_per_kind() {
        let warnings = Warnings::default();
        warnings.warn("mac", "entry a: forged".into());
        warnings.warn("mac", "entry b: forged".into());
        warnings.warn("owner", "entry c: owner".into());
        assert_eq!(warnings.list(), ["entry a: forged", "entry c: owner"]);
    }
}
