//! A submission as the body of Bridge's `POST /v0/customers` and `PUT /v0/customers/{id}`
//! (Bridge's API reference: `UpdateIndividualCustomerPayload`, `UpdateBusinessCustomerPayload`,
//! `Address2025WinterRefresh`, `IdentifyingInformation`, `AssociatedPerson`; a create is
//! an update plus `type`). Files go as base64 data URIs, as Bridge asks.

use base64::Engine as _;
use domain::submission::{
    Address, AssociatedPerson, BusinessDocument, BusinessSubmission, IdentityDocument,
    IndividualSubmission, Person, SubmittedFile,
};
use domain::KycSubmission;
use ports::KycSubmissionRequest;
use serde_json::{json, Map, Value};

/// The body for `request`; `create` adds the customer `type` that only a create carries.
pub(super) fn customer_body(request: &KycSubmissionRequest, create: bool) -> Value {
    let mut body = match &request.submission {
        KycSubmission::Individual(s) => individual(s),
        KycSubmission::Business(s) => business(s),
    };
    body.insert("email".into(), request.email.as_str().into());
    body.insert("phone".into(), request.phone.as_str().into());
    body.insert(
        "signed_agreement_id".into(),
        request.signed_agreement_id.as_str().into(),
    );
    if create {
        let kind = request.submission.customer_type().as_str();
        body.insert("type".into(), kind.into());
    }
    Value::Object(body)
}

/// Inserts `value` under `key` unless it is `None`: Bridge reads an absent field as "not
/// given", which a `null` might not be.
fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.into(), value.into());
    }
}

fn data_uri(file: &SubmittedFile) -> String {
    format!(
        "data:{};base64,{}",
        file.kind().media_type(),
        base64::engine::general_purpose::STANDARD.encode(file.bytes())
    )
}

fn address(a: &Address) -> Value {
    let mut map = Map::new();
    map.insert("street_line_1".into(), a.street_line_1.clone().into());
    put(&mut map, "street_line_2", a.street_line_2.clone());
    map.insert("city".into(), a.city.clone().into());
    put(&mut map, "subdivision", a.subdivision.clone());
    put(&mut map, "postal_code", a.postal_code.clone());
    map.insert("country".into(), a.country.alpha3().into());
    Value::Object(map)
}

/// Our generic `tax_id` is Bridge's generic `tin`; every other type is spelled alike.
fn id_type(d: &IdentityDocument) -> &'static str {
    match d.id_type.as_str() {
        "tax_id" => "tin",
        other => other,
    }
}

fn identity(d: &IdentityDocument) -> Value {
    let mut map = Map::new();
    map.insert("type".into(), id_type(d).into());
    map.insert("issuing_country".into(), d.issuing_country.alpha3().into());
    put(
        &mut map,
        "number",
        d.number.as_ref().map(|n| n.expose().to_owned()),
    );
    put(&mut map, "description", d.description.clone());
    put(
        &mut map,
        "expiration",
        d.expiration.map(|e| e.format("%Y-%m-%d").to_string()),
    );
    put(
        &mut map,
        "image_front",
        d.image_front.as_ref().map(data_uri),
    );
    put(&mut map, "image_back", d.image_back.as_ref().map(data_uri));
    Value::Object(map)
}

fn person(p: &Person) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("first_name".into(), p.first_name.clone().into());
    put(&mut map, "middle_name", p.middle_name.clone());
    map.insert("last_name".into(), p.last_name.clone().into());
    map.insert(
        "birth_date".into(),
        p.birth_date.expose().format("%Y-%m-%d").to_string().into(),
    );
    put(&mut map, "nationality", p.nationality.map(|c| c.alpha3()));
    map.insert(
        "residential_address".into(),
        address(&p.residential_address),
    );
    map.insert(
        "identifying_information".into(),
        p.identifying_information.iter().map(identity).collect(),
    );
    map
}

fn individual(s: &IndividualSubmission) -> Map<String, Value> {
    let mut map = person(&s.person);
    put(
        &mut map,
        "account_purpose",
        s.account_purpose.map(|v| v.as_str()),
    );
    put(
        &mut map,
        "account_purpose_other",
        s.account_purpose_other.clone(),
    );
    put(
        &mut map,
        "source_of_funds",
        s.source_of_funds.map(|v| v.as_str()),
    );
    put(
        &mut map,
        "employment_status",
        s.employment_status.map(|v| v.as_str()),
    );
    put(
        &mut map,
        "most_recent_occupation",
        s.most_recent_occupation.clone(),
    );
    put(
        &mut map,
        "expected_monthly_payments_usd",
        s.expected_monthly_payments_usd.map(|v| v.as_str()),
    );
    map
}

fn associated_person(a: &AssociatedPerson) -> Value {
    let mut map = person(&a.person);
    put(
        &mut map,
        "email",
        a.person.email.as_ref().map(|e| e.as_str().to_owned()),
    );
    put(
        &mut map,
        "phone",
        a.person.phone.as_ref().map(|p| p.as_str().to_owned()),
    );
    put(&mut map, "ownership_percentage", a.ownership_percentage);
    map.insert("has_ownership".into(), a.has_ownership.into());
    map.insert("has_control".into(), a.has_control.into());
    map.insert("is_signer".into(), a.is_signer.into());
    put(&mut map, "title", a.title.clone());
    Value::Object(map)
}

fn document(d: &BusinessDocument) -> Value {
    let mut map = Map::new();
    map.insert(
        "purposes".into(),
        d.purposes.iter().map(|p| p.as_str()).collect(),
    );
    map.insert("file".into(), data_uri(&d.file).into());
    put(&mut map, "description", d.description.clone());
    Value::Object(map)
}

/// Associated persons go in the body although Bridge's reference says they "cannot be
/// updated via PUT": the same reference marks them required in that very payload.
fn business(s: &BusinessSubmission) -> Map<String, Value> {
    let body = json!({
        "business_legal_name": s.business_legal_name,
        "business_trade_name": s.business_trade_name,
        "business_description": s.business_description,
        "business_type": s.business_type.as_str(),
        "business_industry": s.business_industry,
        "registered_address": address(&s.registered_address),
        "physical_address": address(&s.physical_address),
        "associated_persons": s.associated_persons.iter().map(associated_person).collect::<Vec<_>>(),
        "is_dao": s.is_dao,
        "has_material_intermediary_ownership": s.has_material_intermediary_ownership,
        "identifying_information": s.identifying_information.iter().map(identity).collect::<Vec<_>>(),
        "documents": s.documents.iter().map(document).collect::<Vec<_>>(),
        "account_purpose": s.account_purpose.as_str(),
        "source_of_funds": s.source_of_funds.as_str(),
    });
    let Value::Object(mut map) = body else {
        return Map::new();
    };
    put(
        &mut map,
        "account_purpose_other",
        s.account_purpose_other.clone(),
    );
    map
}
