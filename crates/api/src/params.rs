//! Path and query parameters the handlers share: an id from the path, and the page size and
//! cursor of the cursor-paginated lists (`GET /customers`, an endpoint's deliveries).

use domain::ValidationErrors;
use uuid::Uuid;

use crate::error::ApiError;

/// An id from the path. Anything but a UUID names nothing, so it is `404` like an unknown id.
pub fn path_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// Default and largest page size.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

/// The page size as sent in `limit`: 1–100, 20 without one. A bad one is recorded under
/// `limit` and gives `None`.
pub fn page_limit(raw: Option<&str>, errors: &mut ValidationErrors) -> Option<u32> {
    match raw {
        None => Some(DEFAULT_LIMIT),
        Some(raw) => errors.collect(
            "limit",
            raw.parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| format!("must be an integer from 1 to {MAX_LIMIT}")),
        ),
    }
}

/// The cursor as sent in `starting_after`, the last id of the previous page: `Some(None)`
/// without one. One that is not an id is recorded under `starting_after` as `not_an_id`
/// ("must be a customer id") and gives `None`.
pub fn page_cursor(
    raw: Option<&str>,
    not_an_id: &str,
    errors: &mut ValidationErrors,
) -> Option<Option<Uuid>> {
    match raw {
        None => Some(None),
        Some(raw) => errors
            .collect(
                "starting_after",
                Uuid::parse_str(raw).map_err(|_| not_an_id.to_owned()),
            )
            .map(Some),
    }
}
