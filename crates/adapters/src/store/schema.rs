//! The tables as both backends see them. Hand-written, not `diesel print-schema` output:
//! the two databases spell UUIDs, times and JSON differently (see [`super::sql_types`]),
//! and one schema over those types is what lets every query be written once. Keep it in
//! step with `migrations/postgres` and `migrations/sqlite` (the contract suites run every
//! query against both). PostgreSQL's `country char(3)` is `Text` here: Diesel reads and
//! binds it as text, and the column's CHECK keeps it three letters.

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbJson, DbTimestamp, DbUuid};

    customers (id) {
        id -> DbUuid,
        account_id -> DbUuid,
        full_name -> Text,
        email -> Text,
        phone -> Text,
        country -> Text,
        customer_type -> Text,
        send_kyc_mail -> Bool,
        kyc_provider -> Text,
        kyc_link_id -> Nullable<Text>,
        kyc_link -> Text,
        tos_link -> Text,
        kyc_status -> Text,
        tos_status -> Text,
        rejection_reasons -> DbJson,
        provider_customer_id -> Nullable<Text>,
        persona_inquiry_type -> Nullable<Text>,
        created_at -> DbTimestamp,
        kyc_mail_status -> Text,
        kyc_sequence -> Nullable<BigInt>,
        kyc_as_of -> Nullable<DbTimestamp>,
        last_synced_at -> Nullable<DbTimestamp>,
        version -> BigInt,
        updated_at -> Nullable<DbTimestamp>,
        sync_locked_until -> Nullable<DbTimestamp>,
        signed_agreement_id -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbTimestamp, DbUuid};

    accounts (id) {
        id -> DbUuid,
        name -> Text,
        secret_hash -> Text,
        disabled -> Bool,
        created_at -> DbTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbJson, DbTimestamp, DbUuid};

    webhook_endpoints (id) {
        id -> DbUuid,
        account_id -> DbUuid,
        url -> Text,
        description -> Text,
        events -> DbJson,
        enabled -> Bool,
        secret_ciphertext -> Text,
        previous_secret_ciphertext -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<DbTimestamp>,
        created_at -> DbTimestamp,
        updated_at -> Nullable<DbTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbTimestamp, DbUuid};

    webhook_events (id) {
        id -> Text,
        account_id -> DbUuid,
        customer_id -> Nullable<DbUuid>,
        event_type -> Text,
        body -> Text,
        created_at -> DbTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbTimestamp, DbUuid};

    outbox_jobs (id) {
        id -> DbUuid,
        kind -> Text,
        customer_id -> Nullable<DbUuid>,
        message_id -> Nullable<Text>,
        endpoint_id -> Nullable<DbUuid>,
        event_id -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> DbTimestamp,
        locked_until -> Nullable<DbTimestamp>,
        last_error -> Nullable<Text>,
        last_http_status -> Nullable<Integer>,
        created_at -> DbTimestamp,
        finished_at -> Nullable<DbTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbTimestamp, DbUuid};

    idempotency_keys (account_id, method, path, idempotency_key) {
        account_id -> DbUuid,
        method -> Text,
        path -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        state -> Text,
        reserved_id -> DbUuid,
        locked_until -> Nullable<DbTimestamp>,
        response_status -> Nullable<Integer>,
        response_content_type -> Nullable<Text>,
        response_location -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        customer_id -> Nullable<DbUuid>,
        created_at -> DbTimestamp,
        expires_at -> DbTimestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::DbTimestamp;

    provider_events (provider, event_id) {
        provider -> Text,
        event_id -> Text,
        received_at -> DbTimestamp,
        outcome -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbTimestamp, DbUuid};

    kyc_history (id) {
        id -> DbUuid,
        customer_id -> DbUuid,
        from_status -> Text,
        to_status -> Text,
        tos_status -> Text,
        source -> Text,
        event_id -> Nullable<Text>,
        at -> DbTimestamp,
        recorded_at -> DbTimestamp,
        applied -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbJson, DbTimestamp, DbUuid};

    kyc_submissions (id) {
        id -> DbUuid,
        customer_id -> DbUuid,
        account_id -> DbUuid,
        customer_type -> Text,
        submitted_at -> DbTimestamp,
        fields -> DbJson,
        identity_documents -> DbJson,
        documents -> DbJson,
        outcome -> Text,
        kyc_status -> Nullable<Text>,
        provider_reference -> Nullable<Text>,
        refused_fields -> DbJson,
        finished_at -> Nullable<DbTimestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::store::sql_types::{DbTimestamp, DbUuid};

    customer_tombstones (id) {
        id -> DbUuid,
        account_id -> DbUuid,
        created_at -> DbTimestamp,
        deleted_at -> DbTimestamp,
    }
}

diesel::joinable!(customers -> accounts (account_id));
diesel::joinable!(kyc_submissions -> customers (customer_id));
diesel::joinable!(webhook_endpoints -> accounts (account_id));
diesel::joinable!(outbox_jobs -> customers (customer_id));
diesel::joinable!(outbox_jobs -> webhook_endpoints (endpoint_id));
diesel::joinable!(outbox_jobs -> webhook_events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    customer_tombstones,
    customers,
    idempotency_keys,
    kyc_history,
    kyc_submissions,
    outbox_jobs,
    provider_events,
    webhook_endpoints,
    webhook_events
);
