// Hand-kept portable schema: text ids, BIGINT epoch seconds, BOOLEAN.
// Must match migrations/postgres and migrations/sqlite.

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        email -> Text,
        password_hash -> Nullable<Text>,
        admin -> Bool,
        created_at -> BigInt,
        email_verified -> Bool,
        name -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        locale -> Nullable<Text>,
        updated_at -> Nullable<BigInt>,
        disabled_at -> Nullable<BigInt>,
        zoneinfo -> Nullable<Text>,
        signup_expires_at -> Nullable<BigInt>,
        risk_policy -> Nullable<Text>,
        passkey_only -> Bool,
        external_id -> Nullable<Text>,
        scim_user_name -> Nullable<Text>,
        scim_client_id -> Nullable<Text>,
        scim_attributes -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        allow_private -> Bool,
        created_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        failing_since -> Nullable<BigInt>,
        kind -> Text,
        client_id -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (seq) {
        seq -> BigInt,
        subscription_id -> Text,
        event_id -> Text,
        payload -> Text,
        created_at -> BigInt,
        next_at -> BigInt,
        attempts -> Integer,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    short_lived_values (key) {
        key -> Text,
        value -> Text,
        expires_at -> BigInt,
        owner -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        subscription_id -> Text,
        event_id -> Text,
        at -> BigInt,
        status -> Nullable<Integer>,
        error -> Nullable<Text>,
        millis -> BigInt,
    }
}

diesel::table! {
    scim_clients (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        onboarding -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Nullable<Text>,
        redirect_uris -> Text,
        post_logout_redirect_uris -> Text,
        grant_types -> Text,
        scopes -> Text,
        admin -> Bool,
        id_token_alg -> Text,
        created_at -> BigInt,
        backchannel_logout_uri -> Nullable<Text>,
        disabled_at -> Nullable<BigInt>,
        require_par -> Bool,
        jwks -> Nullable<Text>,
        require_private_key_jwt -> Bool,
        require_dpop -> Bool,
        jwks_uri -> Nullable<Text>,
        logo_uri -> Nullable<Text>,
        policy_uri -> Nullable<Text>,
        tos_uri -> Nullable<Text>,
        self_registered -> Bool,
        registration_token_hash -> Nullable<Text>,
        token_exchange_to -> Text,
        token_exchange_impersonation -> Bool,
        may_act -> Text,
        metadata_expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        alg -> Text,
        private_key_enc -> Text,
        public_jwk -> Text,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Text,
        sid -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        auth_time -> BigInt,
        amr -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
        device_name -> Nullable<Text>,
        device_id -> Nullable<Text>,
        restored -> Bool,
    }
}

diesel::table! {
    grants (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        scopes -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(grants -> users (user_id));
diesel::joinable!(grants -> clients (client_id));

diesel::table! {
    refresh_families (id) {
        id -> Text,
        user_id -> Text,
        client_id -> Text,
        sid -> Nullable<Text>,
        scope -> Text,
        auth_time -> BigInt,
        acr -> Text,
        amr -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
        absolute_expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
        dpop_jkt -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (hash) {
        hash -> Text,
        family_id -> Text,
        generation -> Integer,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
        successor_hash -> Nullable<Text>,
        access_jti -> Text,
        access_exp -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        detail -> Text,
        outcome -> Text,
        actor -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        session_hash -> Nullable<Text>,
    }
}

diesel::table! {
    session_clients (sid, client_id) {
        sid -> Text,
        client_id -> Text,
        first_at -> BigInt,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        previous_hash -> Nullable<Text>,
        name -> Text,
        amr -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    totp_credentials (user_id) {
        user_id -> Text,
        secret_enc -> Text,
        confirmed_at -> Nullable<BigInt>,
        last_step -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    backup_codes (id) {
        id -> Text,
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        passkey -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        aaguid -> Nullable<Text>,
    }
}

diesel::table! {
    passkey_policies (audience) {
        audience -> Text,
        allowed -> Text,
        aaguids -> Text,
        attestation -> Bool,
        updated_at -> BigInt,
    }
}

diesel::table! {
    passkey_providers (aaguid) {
        aaguid -> Text,
        name -> Text,
        icon_light -> Nullable<Text>,
        icon_dark -> Nullable<Text>,
    }
}

diesel::joinable!(refresh_tokens -> refresh_families (family_id));
diesel::joinable!(refresh_families -> users (user_id));
diesel::joinable!(refresh_families -> clients (client_id));
diesel::joinable!(session_clients -> clients (client_id));
diesel::joinable!(devices -> users (user_id));
diesel::table! {
    account_links (id) {
        id -> Text,
        purpose -> Text,
        user_id -> Text,
        token_hash -> Text,
        email -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        factor_at -> Nullable<BigInt>,
        factor_browser -> Nullable<Text>,
    }
}

diesel::table! {
    apis (id) {
        id -> Text,
        name -> Text,
        audience -> Text,
        access_token_ttl -> BigInt,
        signing_alg -> Text,
        introspection_secret_hash -> Nullable<Text>,
        created_at -> BigInt,
        self_registration -> Bool,
        publish_metadata -> Bool,
    }
}

diesel::table! {
    api_scopes (name) {
        name -> Text,
        api_id -> Text,
        description -> Text,
    }
}

diesel::table! {
    user_groups (id) {
        id -> Text,
        name -> Text,
        created_at -> BigInt,
        external_id -> Nullable<Text>,
        updated_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        group_id -> Text,
        user_id -> Text,
    }
}

diesel::table! {
    api_roles (api_id, role, group_id) {
        api_id -> Text,
        role -> Text,
        group_id -> Text,
    }
}

diesel::table! {
    upstream_providers (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        issuer -> Text,
        client_id -> Text,
        client_secret_enc -> Text,
        scopes -> Text,
        domains -> Text,
        link_rule -> Text,
        signup -> Bool,
        trust_upstream_mfa -> Bool,
        upstream_logout -> Bool,
        disabled_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    federated_identities (provider_id, subject) {
        provider_id -> Text,
        subject -> Text,
        user_id -> Text,
        display -> Text,
        linked_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    upstream_sessions (sid) {
        sid -> Text,
        provider_id -> Text,
        subject -> Text,
        upstream_sid -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    registration_tokens (token_hash) {
        token_hash -> Text,
        expires_at -> BigInt,
        uses_left -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::joinable!(federated_identities -> upstream_providers (provider_id));
diesel::joinable!(federated_identities -> users (user_id));
diesel::joinable!(api_scopes -> apis (api_id));
diesel::joinable!(group_members -> user_groups (group_id));
diesel::joinable!(api_roles -> user_groups (group_id));
diesel::joinable!(group_members -> users (user_id));

diesel::table! {
    backchannel_deliveries (id) {
        id -> Text,
        client_id -> Text,
        user_id -> Text,
        sid -> Text,
        next_at -> BigInt,
        rounds -> Integer,
        created_at -> BigInt,
    }
}

diesel::table! {
    token_revocations (key) {
        key -> Text,
        value -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    risk_history (user_id, kind, value) {
        user_id -> Text,
        kind -> Text,
        value -> Text,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    risk_last_place (user_id) {
        user_id -> Text,
        at -> BigInt,
        latitude -> Double,
        longitude -> Double,
    }
}

diesel::table! {
    security_alerts (id) {
        id -> Text,
        kind -> Text,
        user_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        evidence -> Text,
        facts -> Text,
        first_seen -> BigInt,
        last_seen -> BigInt,
        count -> BigInt,
        acknowledged_by -> Nullable<Text>,
        acknowledged_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    security_alerts,
    token_revocations,
    backchannel_deliveries,
    apis,
    api_scopes,
    user_groups,
    group_members,
    api_roles,
    account_links,
    users,
    clients,
    signing_keys,
    sessions,
    grants,
    refresh_families,
    refresh_tokens,
    audit_events,
    session_clients,
    devices,
    totp_credentials,
    backup_codes,
    passkeys,
    passkey_providers,
    passkey_policies,
    scim_clients,
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts,
    upstream_providers,
    federated_identities,
    upstream_sessions,
    registration_tokens
);
