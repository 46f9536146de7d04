//! The example body of the OpenAPI document and the README: a USA resident with an SSN,
//! accepted by the zero-configuration sandbox.

use serde_json::{json, Value};

/// An individual's submission that the handler accepts.
pub fn individual_example() -> Value {
    json!({
        "customer_type": "individual",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "birth_date": "1990-05-17",
        "nationality": "USA",
        "residential_address": {
            "street_line_1": "1 Market Street",
            "street_line_2": "Suite 100",
            "city": "San Francisco",
            "subdivision": "CA",
            "postal_code": "94105",
            "country": "USA"
        },
        "identifying_information": [
            {"type": "ssn", "issuing_country": "USA", "number": "123-45-6789"}
        ],
        "account_purpose": "receive_salary",
        "source_of_funds": "salary",
        "employment_status": "employed"
    })
}
