// @generated automatically by Diesel CLI.

diesel::table! {
    customers (id) {
        id -> Uuid,
        account_id -> Uuid,
        full_name -> Text,
        email -> Text,
        phone -> Text,
        #[max_length = 3]
        country -> Bpchar,
        customer_type -> Text,
        send_kyc_mail -> Bool,
        kyc_provider -> Text,
        kyc_link_id -> Nullable<Text>,
        kyc_link -> Text,
        tos_link -> Text,
        kyc_status -> Text,
        tos_status -> Text,
        rejection_reasons -> Jsonb,
        provider_customer_id -> Nullable<Text>,
        persona_inquiry_type -> Nullable<Text>,
        created_at -> Timestamptz,
        kyc_mail_status -> Text,
    }
}

diesel::table! {
    kyc_mail_jobs (customer_id) {
        customer_id -> Uuid,
        message_id -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(kyc_mail_jobs -> customers (customer_id));

diesel::joinable!(customers -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(accounts, customers, kyc_mail_jobs,);

diesel::table! {
    accounts (id) {
        id -> Uuid,
        name -> Text,
        secret_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamptz,
    }
}
