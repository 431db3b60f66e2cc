//! The one paging loop every listing uses, written once and tested without AWS
//! (emulators ignore page limits, so their answers never exercise it).

use std::collections::HashSet;
use std::future::Future;

use super::error::{CallError, FailureKind};

/// One page: its content and the marker of the next page (`None`: last page).
pub(crate) struct Page<T> {
    pub(crate) items: T,
    pub(crate) next: Option<String>,
}

/// Fetches pages until the last one. Returns the pages read and, when a page could not be
/// read, the error (the pages before it are kept: partial data, recorded as such).
/// A service that sends back a marker it already sent would loop forever: that is
/// reported as an error instead.
pub(crate) async fn paginate<T, F, Fut>(
    operation: &str,
    mut fetch: F,
) -> (Vec<T>, Option<CallError>)
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, CallError>>,
{
    let mut pages = Vec::new();
    let mut seen = HashSet::new();
    let mut marker: Option<String> = None;
    loop {
        match fetch(marker.take()).await {
            Ok(page) => {
                pages.push(page.items);
                match page.next {
                    Some(next) if !next.is_empty() => {
                        if !seen.insert(next.clone()) {
                            let err = CallError::new(
                                operation,
                                "RepeatedMarker",
                                format!("the service sent marker `{next}` twice; stopped paging"),
                                FailureKind::Service,
                            );
                            return (pages, Some(err));
                        }
                        marker = Some(next);
                    }
                    _ => return (pages, None),
                }
            }
            Err(err) => return (pages, Some(err)),
        }
    }
}

/// The next marker of a response that says whether it is truncated.
pub(crate) fn next_marker(
    operation: &str,
    truncated: bool,
    marker: Option<&str>,
) -> Result<Option<String>, CallError> {
    match (truncated, marker) {
        (false, _) => Ok(None),
        (true, Some(m)) if !m.is_empty() => Ok(Some(m.to_string())),
        (true, _) => Err(CallError::new(
            operation,
            "MissingMarker",
            "the response is truncated but carries no marker for the next page",
            FailureKind::Service,
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A scripted service: answers by marker, and records the markers it was asked for.
    /// One scripted page: the marker it answers, and the items and next marker (or an error).
    type ScriptedPage = (
        Option<&'static str>,
        Result<(Vec<u32>, Option<&'static str>), &'static str>,
    );

    struct Scripted {
        pages: Vec<ScriptedPage>,
        asked: RefCell<Vec<Option<String>>>,
    }

    impl Scripted {
        async fn fetch(&self, marker: Option<String>) -> Result<Page<Vec<u32>>, CallError> {
            self.asked.borrow_mut().push(marker.clone());
            let (_, answer) = self
                .pages
                .iter()
                .find(|(m, _)| m.map(str::to_string) == marker)
                .ok_or_else(|| {
                    CallError::new(
                        "ListKeys",
                        "InvalidMarker",
                        "unknown marker",
                        FailureKind::Service,
                    )
                })?;
            match answer {
                Ok((items, next)) => Ok(Page {
                    items: items.clone(),
                    next: next.map(str::to_string),
                }),
                Err(code) => Err(CallError::new(
                    "ListKeys",
                    code,
                    "scripted failure",
                    FailureKind::Access,
                )),
            }
        }
    }

    fn run(s: &Scripted) -> (Vec<Vec<u32>>, Option<CallError>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        rt.block_on(paginate("ListKeys", |m| s.fetch(m)))
    }

    #[test]
    fn follows_markers_to_the_last_page() {
        let s = Scripted {
            pages: vec![
                (None, Ok((vec![1, 2], Some("a")))),
                (Some("a"), Ok((vec![3, 4], Some("b")))),
                (Some("b"), Ok((vec![5], None))),
            ],
            asked: RefCell::new(vec![]),
        };
        let (pages, err) = run(&s);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pages.concat(), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            *s.asked.borrow(),
            vec![None, Some("a".to_string()), Some("b".to_string())]
        );
    }

    #[test]
    fn keeps_the_pages_before_a_failure_and_reports_it() {
        let s = Scripted {
            pages: vec![
                (None, Ok((vec![1, 2], Some("a")))),
                (Some("a"), Err("AccessDeniedException")),
            ],
            asked: RefCell::new(vec![]),
        };
        let (pages, err) = run(&s);
        assert_eq!(pages.concat(), vec![1, 2]);
        assert_eq!(
            err.map(|e| e.code),
            Some("AccessDeniedException".to_string())
        );
    }

    #[test]
    fn an_empty_marker_ends_paging() {
        let s = Scripted {
            pages: vec![(None, Ok((vec![7], Some(""))))],
            asked: RefCell::new(vec![]),
        };
        let (pages, err) = run(&s);
        assert!(err.is_none());
        assert_eq!(pages.concat(), vec![7]);
        assert_eq!(s.asked.borrow().len(), 1);
    }

    #[test]
    fn a_repeated_marker_stops_instead_of_looping() {
        let s = Scripted {
            pages: vec![
                (None, Ok((vec![1], Some("a")))),
                (Some("a"), Ok((vec![2], Some("a")))),
            ],
            asked: RefCell::new(vec![]),
        };
        let (pages, err) = run(&s);
        assert_eq!(pages.concat(), vec![1, 2]);
        assert_eq!(err.map(|e| e.code), Some("RepeatedMarker".to_string()));
    }

    #[test]
    fn truncated_without_marker_is_an_error() {
        assert_eq!(next_marker("ListKeys", false, Some("x")), Ok(None));
        assert_eq!(
            next_marker("ListKeys", true, Some("x")),
            Ok(Some("x".to_string()))
        );
        assert!(next_marker("ListKeys", true, None).is_err());
        assert!(next_marker("ListKeys", true, Some("")).is_err());
    }
}
