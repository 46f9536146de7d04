//! The bodies of `POST /webhook-endpoints` and `PATCH /webhook-endpoints/{id}`, and their
//! conversion to the domain, naming every bad field at once.

use domain::{
    EndpointDescription, EventFilter, FieldError, UrlRules, ValidationErrors, WebhookEventType,
    WebhookUrl,
};
use ports::{EndpointChange, NewEndpoint};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::data::WireEventType;
use crate::wire::{self, Field, FromJson};

/// Most entries an `events` list may have.
pub const MAX_EVENTS_LISTED: usize = 20;

/// An `events` list as sent: an array, each entry read later so that each bad one is named
/// (`events[2]`).
#[derive(Debug)]
pub struct EventList(Vec<Value>);

impl FromJson for EventList {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Array(items) if items.len() <= MAX_EVENTS_LISTED => Ok(Self(items)),
            Value::Array(_) => Err(format!("must list at most {MAX_EVENTS_LISTED} event types")),
            _ => Err("must be an array of event types".to_owned()),
        }
    }
}

impl EventList {
    /// The filter the entries name; each bad entry is recorded under `events[i]`.
    fn read(self, errors: &mut ValidationErrors) -> Option<EventFilter> {
        let mut types = Vec::new();
        let mut all_good = true;
        for (i, item) in self.0.into_iter().enumerate() {
            let parsed = match item {
                Value::String(name) => name.parse::<WebhookEventType>(),
                _ => Err("must be a string".to_owned()),
            };
            match errors.collect(&format!("events[{i}]"), parsed) {
                Some(t) => types.push(t),
                None => all_good = false,
            }
        }
        all_good.then(|| EventFilter::new(types))
    }
}

/// A `PATCH` field: absent leaves the value as it is; `null` is refused (nothing here can
/// be unset).
#[derive(Debug)]
pub struct Change<T>(Option<T>);

impl<T: FromJson> FromJson for Change<T> {
    fn from_json(value: Value) -> Result<Self, String> {
        T::from_json(value).map(|v| Self(Some(v)))
    }

    fn missing() -> Result<Self, String> {
        Ok(Self(None))
    }
}

/// The body of `POST /webhook-endpoints`. Unknown fields are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateWebhookEndpointRequest, example = json!({
    "url": "https://hooks.example.com/onboarding",
    "events": ["customer.created", "customer.kyc.approved"],
    "description": "Orders service"
}))]
pub struct CreateEndpointBody {
    /// Where events are POSTed: an absolute `https` URL (plain `http` only where the
    /// service allows it), at most 2048 characters, without user name, password or
    /// fragment, whose host is not (and does not resolve to) a loopback, private,
    /// link-local, multicast or unspecified address.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2048, example = "https://hooks.example.com/onboarding")]
    pub url: Field<String>,
    /// The event types to receive (at most 20 entries); left out or empty: every type.
    #[serde(default)]
    #[schema(value_type = Option<Vec<WireEventType>>, max_items = 20)]
    pub events: Field<Option<EventList>>,
    /// For people; at most 500 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Field<Option<String>>,
    /// The keys sent that are none of the above.
    #[serde(skip)]
    unknown: Vec<String>,
}

/// Reports each unknown key of a body read as `T`.
fn report_unknown<T: serde::de::DeserializeOwned>(
    unknown: Vec<String>,
    errors: &mut ValidationErrors,
) {
    for key in unknown {
        errors.push(FieldError::new(key, wire::unknown_field_message::<T>()));
    }
}

fn read_url(
    raw: Option<String>,
    rules: UrlRules,
    errors: &mut ValidationErrors,
) -> Option<WebhookUrl> {
    raw.and_then(|raw| errors.collect("url", WebhookUrl::parse(&raw, rules)))
}

fn read_description(
    raw: Option<String>,
    errors: &mut ValidationErrors,
) -> Option<EndpointDescription> {
    raw.and_then(|raw| errors.collect("description", EndpointDescription::parse(&raw)))
}

impl CreateEndpointBody {
    /// Reads a JSON body. Fails only when it is not an object.
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let (mut body, unknown) = wire::read_object::<Self>(body)?;
        body.unknown = unknown;
        Ok(body)
    }

    /// Checks types, required and unknown fields and every rule, collecting all failures.
    pub fn try_into_domain(self, rules: UrlRules) -> Result<NewEndpoint, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let url = self.url.read("url", &mut errors);
        let events = self.events.read("events", &mut errors);
        let description = self.description.read("description", &mut errors);
        report_unknown::<Self>(self.unknown, &mut errors);

        let url = read_url(url, rules, &mut errors);
        let filter =
            events.map(|list| list.map_or(Some(EventFilter::all()), |l| l.read(&mut errors)));
        let description = description.map(|d| match d {
            None => Some(EndpointDescription::default()),
            d => read_description(d, &mut errors),
        });
        match (url, filter, description) {
            (Some(url), Some(Some(filter)), Some(Some(description))) if errors.is_empty() => {
                Ok(NewEndpoint {
                    url,
                    description,
                    filter,
                })
            }
            _ => Err(errors),
        }
    }
}

/// The body of `PATCH /webhook-endpoints/{id}`: what it names changes, what it leaves out
/// stays. Unknown fields and `null` values are refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateWebhookEndpointRequest, example = json!({"enabled": false}))]
pub struct UpdateEndpointBody {
    /// A new URL, held to the rules of registration.
    #[serde(default)]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 2048)]
    pub url: Field<Change<String>>,
    /// A new list of event types (at most 20); empty: every type.
    #[serde(default)]
    #[schema(value_type = Vec<WireEventType>, required = false, max_items = 20)]
    pub events: Field<Change<EventList>>,
    /// A new description; at most 500 characters.
    #[serde(default)]
    #[schema(value_type = String, required = false, max_length = 500)]
    pub description: Field<Change<String>>,
    /// Enables or disables the endpoint. A disabled endpoint receives no new events, and
    /// its queued deliveries are given up at their next attempt.
    #[serde(default)]
    #[schema(value_type = bool, required = false)]
    pub enabled: Field<Change<bool>>,
    /// The keys sent that are none of the above.
    #[serde(skip)]
    unknown: Vec<String>,
}

impl UpdateEndpointBody {
    /// Reads a JSON body. Fails only when it is not an object.
    pub fn from_json(body: Value) -> Result<Self, ValidationErrors> {
        let (mut body, unknown) = wire::read_object::<Self>(body)?;
        body.unknown = unknown;
        Ok(body)
    }

    /// Checks every field, collecting all failures.
    pub fn try_into_domain(self, rules: UrlRules) -> Result<EndpointChange, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let url = self.url.read("url", &mut errors);
        let events = self.events.read("events", &mut errors);
        let description = self.description.read("description", &mut errors);
        let enabled = self.enabled.read("enabled", &mut errors);
        report_unknown::<Self>(self.unknown, &mut errors);

        let change = EndpointChange {
            url: url.and_then(|c| read_url(c.0, rules, &mut errors)),
            filter: events.and_then(|c| c.0).and_then(|l| l.read(&mut errors)),
            description: description.and_then(|c| read_description(c.0, &mut errors)),
            enabled: enabled.and_then(|c| c.0),
        };
        if errors.is_empty() {
            Ok(change)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: UrlRules = UrlRules { allow_http: false };

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.errors().iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_registration_needs_only_a_url() {
        let input = CreateEndpointBody::from_json(json!({"url": "https://h.example/x"}))
            .unwrap()
            .try_into_domain(RULES)
            .unwrap();
        assert_eq!(input.url.as_str(), "https://h.example/x");
        assert_eq!(input.filter, EventFilter::all());
        assert_eq!(input.description.as_str(), "");
        let with_nulls = CreateEndpointBody::from_json(
            json!({"url": "https://h.example/x", "events": null, "description": null}),
        )
        .unwrap()
        .try_into_domain(RULES)
        .unwrap();
        assert_eq!(with_nulls.filter, EventFilter::all());
    }

    #[test]
    fn every_bad_field_of_a_registration_is_named_at_once() {
        let errors = CreateEndpointBody::from_json(json!({
            "url": "http://h.example/x",
            "events": ["customer.created", "customer.nope", 3],
            "description": "x".repeat(501),
            "secret": "mine",
        }))
        .unwrap()
        .try_into_domain(RULES)
        .unwrap_err();
        assert_eq!(
            fields(&errors),
            ["secret", "url", "events[1]", "events[2]", "description"]
        );
        let errors = CreateEndpointBody::from_json(json!({"events": "customer.created"}))
            .unwrap()
            .try_into_domain(RULES)
            .unwrap_err();
        assert_eq!(fields(&errors), ["url", "events"]);
        assert_eq!(errors.errors()[0].message, "is required");
    }

    #[test]
    fn a_change_names_only_what_it_sends_and_refuses_null() {
        let change = UpdateEndpointBody::from_json(json!({"enabled": false}))
            .unwrap()
            .try_into_domain(RULES)
            .unwrap();
        assert_eq!(
            change,
            EndpointChange {
                enabled: Some(false),
                ..EndpointChange::default()
            }
        );
        let change = UpdateEndpointBody::from_json(json!({"events": [], "description": " new "}))
            .unwrap()
            .try_into_domain(RULES)
            .unwrap();
        assert_eq!(change.filter, Some(EventFilter::all()));
        assert_eq!(change.description.unwrap().as_str(), "new");
        let errors = UpdateEndpointBody::from_json(json!({
            "url": null, "enabled": "yes", "events": ["x"], "id": 1
        }))
        .unwrap()
        .try_into_domain(RULES)
        .unwrap_err();
        assert_eq!(fields(&errors), ["url", "enabled", "id", "events[0]"]);
        assert_eq!(errors.errors()[0].message, "must not be null");
    }
}
