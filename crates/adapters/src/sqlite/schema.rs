// @generated automatically by Diesel CLI.

diesel::table! {
    customers (id) {
        id -> Text,
        account_id -> Text,
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
        rejection_reasons -> Text,
        provider_customer_id -> Nullable<Text>,
        persona_inquiry_type -> Nullable<Text>,
        created_at -> Text,
        kyc_mail_status -> Text,
    }
}

diesel::table! {
    kyc_mail_jobs (customer_id) {
        customer_id -> Text,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Text,
        locked_until -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Text,
        sent_at -> Nullable<Text>,
    }
}

diesel::joinable!(kyc_mail_jobs -> customers (customer_id));

diesel::joinable!(customers -> accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(accounts, customers, kyc_mail_jobs,);

diesel::table! {
    accounts (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        disabled -> Bool,
        created_at -> Text,
    }
}
