//! Helm's document splitter for values files (apimachinery's `YAMLReader`): a line starting
//! with `---` ends a document, and anything after the dashes but spaces or a comment is an
//! error. The pieces are then read one by one by go-yaml v2.

use std::ops::Range;

use crate::error::Error;
use crate::path::Mark;

/// The byte range of each document and its first line (0-based), as Helm cuts them. The first
/// `---` line of a piece stays in it (go-yaml reads it as an explicit document start); a `---`
/// line that ends a piece is dropped.
pub fn helm_documents(text: &str, origin: &str) -> Result<Vec<(Range<usize>, usize)>, Error> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    let mut at = 0usize;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let here = at;
        at += line.len();
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(Error::yaml(
                    origin,
                    Mark {
                        line: line_no + 1,
                        col: 4,
                    },
                    format!(
                        "invalid Yaml document separator: {trimmed} (Helm cuts values files \
                         into documents at lines starting with '---' and allows only a comment \
                         after the dashes)"
                    ),
                ));
            }
            if let Some((s, first)) = start.take() {
                out.push((s..here, first));
                continue;
            }
        }
        if start.is_none() {
            start = Some((here, line_no));
        }
    }
    if let Some((s, first)) = start {
        out.push((s..text.len(), first));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_like_apimachinery() {
        let t = "---\na: 1\n---\nb: 2\n--- # c\n";
        let docs = helm_documents(t, "v").expect("split");
        let pieces: Vec<&str> = docs.iter().map(|(r, _)| &t[r.clone()]).collect();
        assert_eq!(pieces, ["---\na: 1\n", "b: 2\n"]);
        assert_eq!(docs[1].1, 3);
        let e = helm_documents("a: 1\n---x\n", "v").expect_err("glued");
        assert!(
            e.to_string()
                .contains("v:2:4: invalid Yaml document separator: x"),
            "{e}"
        );
    }
}
