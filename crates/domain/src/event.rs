//! Security events, typed: [`SecurityEvent`] names what happened and to whom
//! (`LoginFailed { user, known_device }`, `RefreshTokenReuse { client, .. }`),
//! [`Actor`] who did it. From one event the recorder
//! (`latchkey_oauth::audit::record`) derives the whole audit row (kind,
//! outcome, `user_id`, `client_id`, detail), the `security` log line and the
//! metric; webhooks (a later issue) will consume the same values (they
//! serialize, tagged by `event`).
//!
//! The stored kind ([`SecurityEvent::kind`], an [`EventKind`]) is the string
//! rows have always carried, and [`SecurityEvent::detail`] words the row as
//! the call sites used to, so old rows still read the same, the admin audit
//! filter still matches them and the account page's "Recent activity" still
//! words them. A new event is a new variant here: the compiler then asks for
//! its kind, subjects and wording, and nothing else names a kind as a string.

use serde::Serialize;

use crate::risk::{SignInRisk, StepUp};
use crate::{Amr, ClientId, UserId};

/// Whether an event records something done or something refused/failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    /// As stored in the audit row's `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One kind of audit event: what a row's `kind` column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    AccountDeleted,
    AccountRecovered,
    AccountSetUp,
    AdminGranted,
    AdminRevoked,
    AlertAcknowledged,
    /// One kind per anomaly (issue #32): `SecurityEvent::AnomalyDetected`'s
    /// kind is its anomaly's (`AnomalyKind::event_kind`).
    AnomalyCredentialStuffing,
    AnomalyFailureSpike,
    AnomalyNewCountry,
    AnomalyNewDeviceAfterChange,
    AnomalyRefreshTokenReuse,
    ApiChanged,
    ApiRegistered,
    ApiRemoved,
    AppDisconnected,
    AuditExported,
    BackchannelLogoutDelivered,
    BackchannelLogoutFailed,
    BackupCodesRegenerated,
    ClientCreated,
    ClientDeleted,
    ClientDisabled,
    ClientEnabled,
    ClientScopesChanged,
    ClientSecretRotated,
    ClientUpdated,
    CodeReuse,
    ConsentDenied,
    ConsentGiven,
    DeviceApproved,
    DeviceDenied,
    DeviceForgotten,
    DeviceTokenReplayed,
    EmailChangeRefused,
    EmailChangeRequested,
    EmailChangeReverted,
    EmailChanged,
    FederatedSignInFailed,
    FederatedSignUp,
    GrantsRevoked,
    GroupCreated,
    GroupMemberAdded,
    GroupMemberRemoved,
    GroupRemoved,
    IdentityLinked,
    IdentityUnlinked,
    KeysRotated,
    LoginFailed,
    LoginThrottled,
    MfaResetByAdmin,
    NewCountrySignIn,
    NewDeviceSignIn,
    NotMe,
    PasskeyAdded,
    PasskeyOnlySet,
    PasskeyPolicySet,
    PasskeyRemoved,
    PasskeySecondFactor,
    PasskeySignIn,
    PasskeySignInFailed,
    PasswordChanged,
    PasswordRemoved,
    PasswordSet,
    ProfileChanged,
    ProviderAdded,
    ProviderDisabled,
    ProviderEnabled,
    ProviderRemoved,
    ProviderUpdated,
    RateLimited,
    RecentCredentialRemoved,
    RecoveryFactorFailed,
    RecoveryFactorPassed,
    RecoveryLinkSentByAdmin,
    RecoveryRequested,
    RecoveryRequestedUnknown,
    RefreshTokenReuse,
    RiskPolicySet,
    RiskySignInRefused,
    ScimClientCreated,
    ScimClientRevoked,
    ScimUserCreated,
    ScimUserUpdated,
    SecondFactorFailed,
    SessionMoved,
    SessionRestored,
    SessionsEnded,
    SignIn,
    SignInCodeFailed,
    SignInSteppedUp,
    SignOut,
    SignupAddressTaken,
    SignupRequested,
    TokenExchanged,
    TotpEnrolled,
    TotpRemoved,
    UserDeleted,
    UserDisabled,
    UserEnabled,
    UserInvited,
    WebhookAdded,
    WebhookDisabled,
    WebhookRemoved,
}

impl EventKind {
    /// Every kind, for tests and lookups.
    pub const ALL: [EventKind; 103] = [
        EventKind::AccountDeleted,
        EventKind::AccountRecovered,
        EventKind::AccountSetUp,
        EventKind::AdminGranted,
        EventKind::AdminRevoked,
        EventKind::AlertAcknowledged,
        EventKind::AnomalyCredentialStuffing,
        EventKind::AnomalyFailureSpike,
        EventKind::AnomalyNewCountry,
        EventKind::AnomalyNewDeviceAfterChange,
        EventKind::AnomalyRefreshTokenReuse,
        EventKind::ApiChanged,
        EventKind::ApiRegistered,
        EventKind::ApiRemoved,
        EventKind::AppDisconnected,
        EventKind::AuditExported,
        EventKind::BackchannelLogoutDelivered,
        EventKind::BackchannelLogoutFailed,
        EventKind::BackupCodesRegenerated,
        EventKind::ClientCreated,
        EventKind::ClientDeleted,
        EventKind::ClientDisabled,
        EventKind::ClientEnabled,
        EventKind::ClientScopesChanged,
        EventKind::ClientSecretRotated,
        EventKind::ClientUpdated,
        EventKind::CodeReuse,
        EventKind::ConsentDenied,
        EventKind::ConsentGiven,
        EventKind::DeviceApproved,
        EventKind::DeviceDenied,
        EventKind::DeviceForgotten,
        EventKind::DeviceTokenReplayed,
        EventKind::EmailChangeRefused,
        EventKind::EmailChangeRequested,
        EventKind::EmailChangeReverted,
        EventKind::EmailChanged,
        EventKind::FederatedSignInFailed,
        EventKind::FederatedSignUp,
        EventKind::GrantsRevoked,
        EventKind::GroupCreated,
        EventKind::GroupMemberAdded,
        EventKind::GroupMemberRemoved,
        EventKind::GroupRemoved,
        EventKind::IdentityLinked,
        EventKind::IdentityUnlinked,
        EventKind::KeysRotated,
        EventKind::LoginFailed,
        EventKind::LoginThrottled,
        EventKind::MfaResetByAdmin,
        EventKind::NewCountrySignIn,
        EventKind::NewDeviceSignIn,
        EventKind::NotMe,
        EventKind::PasskeyAdded,
        EventKind::PasskeyOnlySet,
        EventKind::PasskeyPolicySet,
        EventKind::PasskeyRemoved,
        EventKind::PasskeySecondFactor,
        EventKind::PasskeySignIn,
        EventKind::PasskeySignInFailed,
        EventKind::PasswordChanged,
        EventKind::PasswordRemoved,
        EventKind::PasswordSet,
        EventKind::ProfileChanged,
        EventKind::ProviderAdded,
        EventKind::ProviderDisabled,
        EventKind::ProviderEnabled,
        EventKind::ProviderRemoved,
        EventKind::ProviderUpdated,
        EventKind::RateLimited,
        EventKind::RecentCredentialRemoved,
        EventKind::RecoveryFactorFailed,
        EventKind::RecoveryFactorPassed,
        EventKind::RecoveryLinkSentByAdmin,
        EventKind::RecoveryRequested,
        EventKind::RecoveryRequestedUnknown,
        EventKind::RefreshTokenReuse,
        EventKind::RiskPolicySet,
        EventKind::RiskySignInRefused,
        EventKind::ScimClientCreated,
        EventKind::ScimClientRevoked,
        EventKind::ScimUserCreated,
        EventKind::ScimUserUpdated,
        EventKind::SecondFactorFailed,
        EventKind::SessionMoved,
        EventKind::SessionRestored,
        EventKind::SessionsEnded,
        EventKind::SignIn,
        EventKind::SignInCodeFailed,
        EventKind::SignInSteppedUp,
        EventKind::SignOut,
        EventKind::SignupAddressTaken,
        EventKind::SignupRequested,
        EventKind::TokenExchanged,
        EventKind::TotpEnrolled,
        EventKind::TotpRemoved,
        EventKind::UserDeleted,
        EventKind::UserDisabled,
        EventKind::UserEnabled,
        EventKind::UserInvited,
        EventKind::WebhookAdded,
        EventKind::WebhookDisabled,
        EventKind::WebhookRemoved,
    ];

    /// The kind as stored in audit rows (never change one: old rows, filters
    /// and the account page's wording depend on it).
    pub fn as_str(&self) -> &'static str {
        use EventKind::*;
        match self {
            AccountDeleted => "account_deleted",
            AccountRecovered => "account_recovered",
            AccountSetUp => "account_set_up",
            AdminGranted => "admin_granted",
            AdminRevoked => "admin_revoked",
            AlertAcknowledged => "alert_acknowledged",
            AnomalyCredentialStuffing => "anomaly_credential_stuffing",
            AnomalyFailureSpike => "anomaly_failure_spike",
            AnomalyNewCountry => "anomaly_new_country",
            AnomalyNewDeviceAfterChange => "anomaly_new_device_after_change",
            AnomalyRefreshTokenReuse => "anomaly_refresh_token_reuse",
            ApiRegistered => "api_registered",
            ApiChanged => "api_changed",
            ApiRemoved => "api_removed",
            AppDisconnected => "app_disconnected",
            AuditExported => "audit_exported",
            BackchannelLogoutDelivered => "backchannel_logout_delivered",
            BackchannelLogoutFailed => "backchannel_logout_failed",
            BackupCodesRegenerated => "backup_codes_regenerated",
            ClientCreated => "client_created",
            ClientDeleted => "client_deleted",
            ClientDisabled => "client_disabled",
            ClientEnabled => "client_enabled",
            ClientScopesChanged => "client_scopes_changed",
            ClientSecretRotated => "client_secret_rotated",
            ClientUpdated => "client_updated",
            CodeReuse => "code_reuse",
            ConsentDenied => "consent_denied",
            ConsentGiven => "consent_given",
            DeviceApproved => "device_approved",
            DeviceDenied => "device_denied",
            DeviceForgotten => "device_forgotten",
            DeviceTokenReplayed => "device_token_replayed",
            EmailChangeRefused => "email_change_refused",
            EmailChangeRequested => "email_change_requested",
            EmailChangeReverted => "email_change_reverted",
            EmailChanged => "email_changed",
            FederatedSignInFailed => "federated_sign_in_failed",
            FederatedSignUp => "federated_sign_up",
            GrantsRevoked => "grants_revoked",
            GroupCreated => "group_created",
            GroupMemberAdded => "group_member_added",
            GroupMemberRemoved => "group_member_removed",
            GroupRemoved => "group_removed",
            IdentityLinked => "identity_linked",
            IdentityUnlinked => "identity_unlinked",
            KeysRotated => "keys_rotated",
            LoginFailed => "login_failed",
            LoginThrottled => "login_throttled",
            MfaResetByAdmin => "mfa_reset_by_admin",
            NewCountrySignIn => "new_country_sign_in",
            NewDeviceSignIn => "new_device_sign_in",
            NotMe => "not_me",
            PasskeyAdded => "passkey_added",
            PasskeyOnlySet => "passkey_only_set",
            PasskeyPolicySet => "passkey_policy_set",
            PasskeyRemoved => "passkey_removed",
            PasskeySecondFactor => "passkey_second_factor",
            PasskeySignIn => "passkey_sign_in",
            PasskeySignInFailed => "passkey_sign_in_failed",
            PasswordChanged => "password_changed",
            PasswordRemoved => "password_removed",
            PasswordSet => "password_set",
            ProfileChanged => "profile_changed",
            ProviderAdded => "provider_added",
            ProviderDisabled => "provider_disabled",
            ProviderEnabled => "provider_enabled",
            ProviderRemoved => "provider_removed",
            ProviderUpdated => "provider_updated",
            RateLimited => "rate_limited",
            RecentCredentialRemoved => "recent_credential_removed",
            RecoveryFactorFailed => "recovery_factor_failed",
            RecoveryFactorPassed => "recovery_factor_passed",
            RecoveryLinkSentByAdmin => "recovery_link_sent_by_admin",
            RecoveryRequested => "recovery_requested",
            RecoveryRequestedUnknown => "recovery_requested_unknown",
            RefreshTokenReuse => "refresh_token_reuse",
            RiskPolicySet => "risk_policy_set",
            RiskySignInRefused => "risky_sign_in_refused",
            ScimClientCreated => "scim_client_created",
            ScimClientRevoked => "scim_client_revoked",
            ScimUserCreated => "scim_user_created",
            ScimUserUpdated => "scim_user_updated",
            SecondFactorFailed => "second_factor_failed",
            SessionMoved => "session_moved",
            SessionRestored => "session_restored",
            SessionsEnded => "sessions_ended",
            SignIn => "sign_in",
            SignInCodeFailed => "sign_in_code_failed",
            SignInSteppedUp => "sign_in_stepped_up",
            SignOut => "sign_out",
            SignupAddressTaken => "signup_address_taken",
            SignupRequested => "signup_requested",
            TokenExchanged => "token_exchanged",
            TotpEnrolled => "totp_enrolled",
            TotpRemoved => "totp_removed",
            UserDeleted => "user_deleted",
            UserDisabled => "user_disabled",
            UserEnabled => "user_enabled",
            UserInvited => "user_invited",
            WebhookAdded => "webhook_added",
            WebhookDisabled => "webhook_disabled",
            WebhookRemoved => "webhook_removed",
        }
    }

    /// Refusals, failures and detected attacks are failures; the rest success.
    pub fn outcome(&self) -> Outcome {
        use EventKind::*;
        match self {
            AnomalyCredentialStuffing
            | AnomalyFailureSpike
            | AnomalyNewCountry
            | AnomalyNewDeviceAfterChange
            | AnomalyRefreshTokenReuse
            | BackchannelLogoutFailed
            | CodeReuse
            | DeviceTokenReplayed
            | EmailChangeRefused
            | FederatedSignInFailed
            | LoginFailed
            | LoginThrottled
            | PasskeySignInFailed
            | RateLimited
            | RecoveryFactorFailed
            | RecoveryRequestedUnknown
            | RefreshTokenReuse
            | RiskySignInRefused
            | SecondFactorFailed
            | SignInCodeFailed
            | SessionMoved => Outcome::Failure,
            _ => Outcome::Success,
        }
    }

    /// The event of a stored kind, if it is one.
    pub fn from_kind(kind: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|e| e.as_str() == kind)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did what an event records. Each caller states it (see the recorder,
/// `latchkey_oauth::audit`); it is stored as the row's `actor` column in the
/// form rows have always had (`user:<id>`, `admin:<id>`, `client:<id>`,
/// `cli`; nothing for latchkey itself or nobody yet).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in person acting on their own account.
    User(UserId),
    /// An administrator, in the console.
    Admin(UserId),
    /// A client: an admin API caller, or a client at a protocol endpoint.
    Client(ClientId),
    /// The command line (an operator holding the server's keys).
    Cli,
    /// A SCIM client (a directory provisioning users), by its id (issue #30).
    Scim(String),
    /// Latchkey itself: deliveries, sweeps, jobs outside any request.
    System,
    /// Nobody proven yet: sign-in attempts, sign-up, holders of a mailed link.
    Anonymous,
}

impl Actor {
    /// As stored in the audit row's `actor` column.
    pub fn stored(&self) -> Option<String> {
        match self {
            Actor::User(id) => Some(format!("user:{}", id.0)),
            Actor::Admin(id) => Some(format!("admin:{}", id.0)),
            Actor::Client(id) => Some(format!("client:{}", id.0)),
            Actor::Cli => Some("cli".into()),
            Actor::Scim(id) => Some(format!("scim:{id}")),
            Actor::System | Actor::Anonymous => None,
        }
    }
}

/// Why a second factor presented for a recovery link did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorFailure {
    Throttled,
    WrongCode,
    PasskeyRefused,
    /// A passkey ceremony started for another link, browser or account.
    ForeignCeremony,
}

/// Which second factor a recovery link's holder presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryFactor {
    Code,
    Passkey,
}

/// Why a passkey sign-in was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyRefusal {
    AssertionRefused,
    AccountDisabled,
}

/// How a passkey was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum PasskeyAddedVia {
    /// On the account page; the user's other sessions and devices ended.
    Account { name: String, others_ended: usize },
    /// While following a mailed link (`setup`, `recovery`).
    Link { purpose: String },
}

/// Why the backup codes were regenerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum CodesCause {
    /// Issued with a first passkey (a second factor needs a fallback).
    FirstPasskey,
    /// Asked for on the account page; other sessions and devices ended.
    Asked { others_ended: usize },
}

/// How a credential added recently was removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Removal {
    /// From the review page of a signed-in session.
    Account { others_ended: usize },
    /// From a "This wasn't me" mail link: every session ended.
    MailLink { credential: String, sessions_ended: usize },
}

/// What the user disowned with "This wasn't me".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "disowned", rename_all = "snake_case")]
pub enum Disowned {
    /// A session, from the link of a mail.
    Session { session: String },
    /// An entry of "Recent activity".
    Event { kind: String, sessions_ended: usize },
}

/// Whose sessions an administrator ended, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "ended", rename_all = "snake_case")]
pub enum EndedSessions {
    /// Every session, device and token (console, CLI).
    Everything { sessions: usize },
    /// Every session, by the admin API's caller `by`.
    All { by: String, sessions: usize },
    /// One session, by the admin API's caller `by`.
    One { by: String, session: String },
}

/// How an invitation was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Invitation {
    /// The set-up link, valid `hours`, was mailed.
    Mailed { username: String, hours: i64 },
    /// The admin API's caller `by` asked for it.
    Api { by: String },
    /// The first administrator's set-up link, printed by the server (or
    /// `latchkey admin setup-link`) while no administrator can sign in.
    FirstAdmin { hours: i64 },
}

/// What an administrator changed on a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ClientChange {
    Settings {
        name_before: String,
        name: String,
        redirect_uris_before: Vec<String>,
        redirect_uris: Vec<String>,
    },
    Links {
        logo_uri: Option<String>,
        policy_uri: Option<String>,
        tos_uri: Option<String>,
    },
    TokenExchange {
        to: Vec<String>,
        impersonation: bool,
        may_act: Vec<String>,
    },
    /// What the client must do: push its requests (PAR), bind tokens
    /// (DPoP); where its keys are (`jwks_uri`).
    Policies {
        require_par: bool,
        require_dpop: bool,
        jwks_uri: Option<String>,
    },
}

/// Whose grants were revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum RevokedGrants {
    /// A client's, for every user or for one (id and username).
    Client { client: ClientId, user: Option<(UserId, String)>, families: usize },
    /// Everything one user granted, to every client.
    User { user: UserId, username: String },
}

/// A security event with its subjects: what the audit trail, the `security`
/// log line, the metric and (later) webhooks are made of. The row's `kind`
/// is [`SecurityEvent::kind`], its `user_id`/`client_id` columns
/// [`SecurityEvent::user`]/[`SecurityEvent::client`], its `detail`
/// [`SecurityEvent::detail`] (worded as rows always were).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SecurityEvent {
    AccountDeleted {
        user: UserId,
    },
    AccountRecovered {
        user: UserId,
        sessions_ended: usize,
    },
    AccountSetUp {
        user: UserId,
        methods: Vec<Amr>,
    },
    AdminGranted {
        user: UserId,
        was_admin: bool,
    },
    AdminRevoked {
        user: UserId,
        was_admin: bool,
    },
    /// An administrator acknowledged the security alert `alert` (the
    /// console's "Security alerts"; `user` is the account it concerns).
    AlertAcknowledged {
        alert: String,
        anomaly: crate::AnomalyKind,
        user: Option<UserId>,
    },
    ApiChanged {
        name: String,
        audience: String,
        /// What the API allows now, in words.
        change: String,
    },
    ApiRegistered {
        name: String,
        audience: String,
    },
    ApiRemoved {
        name: String,
        audience: String,
    },
    AppDisconnected {
        user: UserId,
        client: ClientId,
    },
    AuditExported {
        filter: String,
    },
    BackchannelLogoutDelivered {
        user: UserId,
        client: ClientId,
        round: i32,
        attempt: u32,
    },
    BackchannelLogoutFailed {
        user: UserId,
        client: ClientId,
        rounds: i32,
        attempts: u32,
    },
    BackupCodesRegenerated {
        user: UserId,
        cause: CodesCause,
    },
    ClientCreated {
        client: ClientId,
        name: String,
    },
    ClientDeleted {
        client: ClientId,
    },
    ClientDisabled {
        client: ClientId,
    },
    ClientEnabled {
        client: ClientId,
    },
    ClientScopesChanged {
        client: ClientId,
        scope: String,
    },
    ClientSecretRotated {
        client: ClientId,
    },
    ClientUpdated {
        client: ClientId,
        change: ClientChange,
    },
    CodeReuse {
        client: ClientId,
    },
    ConsentDenied {
        user: UserId,
        client: ClientId,
        scope: String,
    },
    ConsentGiven {
        user: UserId,
        client: ClientId,
        scope: String,
    },
    DeviceApproved {
        user: UserId,
        client: ClientId,
        scope: String,
    },
    DeviceDenied {
        user: UserId,
        client: ClientId,
        scope: String,
    },
    DeviceForgotten {
        user: UserId,
        device: String,
    },
    DeviceTokenReplayed {
        user: UserId,
        device: String,
    },
    EmailChangeRefused {
        user: UserId,
    },
    EmailChangeRequested {
        user: UserId,
    },
    EmailChangeReverted {
        user: UserId,
    },
    EmailChanged {
        user: UserId,
    },
    GrantsRevoked {
        by: String,
        grants: usize,
        of: RevokedGrants,
    },
    GroupCreated {
        group: String,
    },
    GroupMemberAdded {
        group: String,
        user: UserId,
    },
    GroupMemberRemoved {
        group: String,
        user: UserId,
    },
    GroupRemoved {
        group: String,
    },
    /// A sign-in through an upstream provider was refused (its answer did
    /// not verify, the account is unknown and sign-up is off, …).
    FederatedSignInFailed {
        user: Option<UserId>,
        provider: String,
        reason: String,
    },
    /// A first sign-in through an upstream provider created the account.
    FederatedSignUp {
        user: UserId,
        provider: String,
    },
    /// An upstream account was linked to the user's account.
    IdentityLinked {
        user: UserId,
        provider: String,
        /// How: `sign-in` (the user signed in to this account first) or `verified-email`.
        via: String,
    },
    IdentityUnlinked {
        user: UserId,
        provider: String,
        others_ended: usize,
    },
    KeysRotated {
        new_keys: usize,
    },
    ProviderAdded {
        provider: String,
        name: String,
    },
    ProviderDisabled {
        provider: String,
    },
    ProviderEnabled {
        provider: String,
    },
    ProviderRemoved {
        provider: String,
    },
    ProviderUpdated {
        provider: String,
    },
    /// Attributed to the account the typed name names, if any (never the
    /// typed name: people type passwords into it).
    LoginFailed {
        user: Option<UserId>,
        known_device: bool,
    },
    LoginThrottled {
        user: Option<UserId>,
        known_device: bool,
    },
    MfaResetByAdmin {
        user: UserId,
    },
    /// A sign-in from a country (as the operator's location database names
    /// it) the user has not signed in from in the last 90 days (issue #32).
    NewCountrySignIn {
        user: UserId,
        country: String,
    },
    NewDeviceSignIn {
        user: UserId,
        session: String,
        device: Option<String>,
    },
    NotMe {
        user: UserId,
        disowned: Disowned,
    },
    PasskeyAdded {
        user: UserId,
        passkey: String,
        via: PasskeyAddedVia,
    },
    PasskeyRemoved {
        user: UserId,
        others_ended: usize,
    },
    PasskeySecondFactor {
        user: UserId,
    },
    PasskeySignIn {
        user: UserId,
    },
    PasskeySignInFailed {
        user: Option<UserId>,
        reason: PasskeyRefusal,
    },
    PasswordChanged {
        user: UserId,
        others_ended: usize,
    },
    PasswordRemoved {
        user: UserId,
        others_ended: usize,
    },
    PasswordSet {
        user: UserId,
        others_ended: usize,
    },
    ProfileChanged {
        user: UserId,
        by_admin: bool,
    },
    RateLimited {
        limit: String,
    },
    RecentCredentialRemoved {
        user: UserId,
        removal: Removal,
    },
    RecoveryFactorFailed {
        user: UserId,
        why: FactorFailure,
    },
    RecoveryFactorPassed {
        user: UserId,
        factor: RecoveryFactor,
    },
    RecoveryLinkSentByAdmin {
        user: UserId,
    },
    RecoveryRequested {
        user: UserId,
    },
    RecoveryRequestedUnknown,
    RefreshTokenReuse {
        user: UserId,
        client: ClientId,
        family: String,
        generation: i32,
    },
    /// An administrator marked the user passkey-only, or took the mark away
    /// (issue #29).
    PasskeyOnlySet {
        user: UserId,
        passkey_only: bool,
    },
    /// An administrator chose which passkeys may be registered, for
    /// everyone or for administrators (issue #29); `policy: None`: the
    /// deployment's configuration decides again.
    PasskeyPolicySet {
        audience: String,
        policy: Option<String>,
    },
    /// An administrator set the user's own risk policy (issue #32): `off`,
    /// `standard` or `strict`; `None`: the deployment's again.
    RiskPolicySet {
        user: UserId,
        policy: Option<String>,
    },
    /// A high-risk password sign-in of an account without a second factor
    /// was refused (issue #32); the owner was mailed.
    /// A SCIM client (a directory that provisions users) was made (issue #30).
    /// A webhook subscription was added (issue #30).
    WebhookAdded {
        subscription: String,
        url: String,
    },
    /// A webhook subscription was disabled after a day of failed deliveries.
    WebhookDisabled {
        subscription: String,
        url: String,
    },
    /// A webhook subscription was removed.
    WebhookRemoved {
        subscription: String,
    },
    ScimClientCreated {
        client: String,
        name: String,
    },
    /// A SCIM client's token was revoked.
    ScimClientRevoked {
        client: String,
    },
    /// A SCIM client created a user (the actor names the client).
    ScimUserCreated {
        user: UserId,
        username: String,
    },
    /// A SCIM client replaced or patched a user.
    ScimUserUpdated {
        user: UserId,
    },
    RiskySignInRefused {
        user: UserId,
        risk: SignInRisk,
    },
    SecondFactorFailed {
        user: UserId,
        throttled: bool,
    },
    SessionMoved {
        user: UserId,
        session: String,
    },
    SessionRestored {
        user: UserId,
    },
    SessionsEnded {
        user: UserId,
        ended: EndedSessions,
    },
    SignIn {
        user: UserId,
        client: Option<ClientId>,
        methods: Vec<Amr>,
        remembered: bool,
        new_device: bool,
        /// The sign-in's risk (issue #32); `None` with the risk policy off.
        #[serde(skip_serializing_if = "Option::is_none")]
        risk: Option<SignInRisk>,
    },
    /// A wrong mailed sign-in code; `throttled`: one too many, the sign-in
    /// starts over.
    SignInCodeFailed {
        user: UserId,
        throttled: bool,
    },
    /// A risky sign-in (issue #32) was asked for more than its first factor.
    SignInSteppedUp {
        user: UserId,
        step: StepUp,
        risk: SignInRisk,
    },
    /// With `client`: on the consent page ("not this user").
    SignOut {
        user: UserId,
        client: Option<ClientId>,
    },
    SignupAddressTaken,
    SignupRequested {
        user: UserId,
    },
    /// RFC 8693: `client` exchanged a token of `user` (issued to
    /// `subject_client`) for one at the API `audience`; without `act` when
    /// `impersonation`. No token, scope or address of the user is kept.
    TokenExchanged {
        user: UserId,
        client: ClientId,
        subject_client: ClientId,
        audience: String,
        impersonation: bool,
    },
    TotpEnrolled {
        user: UserId,
        others_ended: usize,
    },
    TotpRemoved {
        user: UserId,
        others_ended: usize,
    },
    UserDeleted {
        user: UserId,
        username: String,
    },
    UserDisabled {
        user: UserId,
    },
    UserEnabled {
        user: UserId,
    },
    UserInvited {
        user: UserId,
        via: Invitation,
    },
    /// An anomaly was noticed (issue #32, `crate::alert`) and raised as a
    /// stored alert: once per window, not once per event. Its kind is its
    /// anomaly's (`anomaly_<kind>`), and so is its webhook tag
    /// ([`crate::RaisedAnomaly`] serializes it; serde's untagged variants
    /// come last).
    #[serde(untagged)]
    AnomalyDetected(crate::RaisedAnomaly),
}

/// The tail of every credential change's detail.
fn others(n: usize) -> String {
    format!("{n} other session(s) and every other remembered device ended")
}

impl SecurityEvent {
    /// The stored kind (never change one: old rows, filters and the account
    /// page's wording depend on it).
    pub fn kind(&self) -> &'static str {
        self.event_kind().as_str()
    }

    /// Refusals, failures and detected attacks are failures; the rest success.
    pub fn outcome(&self) -> Outcome {
        self.event_kind().outcome()
    }

    /// The kind, as a value (the audit filter, counts, the account page).
    pub fn event_kind(&self) -> EventKind {
        use SecurityEvent as E;
        match self {
            E::AccountDeleted { .. } => EventKind::AccountDeleted,
            E::AccountRecovered { .. } => EventKind::AccountRecovered,
            E::AccountSetUp { .. } => EventKind::AccountSetUp,
            E::AdminGranted { .. } => EventKind::AdminGranted,
            E::AdminRevoked { .. } => EventKind::AdminRevoked,
            E::AlertAcknowledged { .. } => EventKind::AlertAcknowledged,
            E::AnomalyDetected(raised) => raised.anomaly.kind().event_kind(),
            E::ApiChanged { .. } => EventKind::ApiChanged,
            E::ApiRegistered { .. } => EventKind::ApiRegistered,
            E::ApiRemoved { .. } => EventKind::ApiRemoved,
            E::AppDisconnected { .. } => EventKind::AppDisconnected,
            E::AuditExported { .. } => EventKind::AuditExported,
            E::BackchannelLogoutDelivered { .. } => EventKind::BackchannelLogoutDelivered,
            E::BackchannelLogoutFailed { .. } => EventKind::BackchannelLogoutFailed,
            E::BackupCodesRegenerated { .. } => EventKind::BackupCodesRegenerated,
            E::ClientCreated { .. } => EventKind::ClientCreated,
            E::ClientDeleted { .. } => EventKind::ClientDeleted,
            E::ClientDisabled { .. } => EventKind::ClientDisabled,
            E::ClientEnabled { .. } => EventKind::ClientEnabled,
            E::ClientScopesChanged { .. } => EventKind::ClientScopesChanged,
            E::ClientSecretRotated { .. } => EventKind::ClientSecretRotated,
            E::ClientUpdated { .. } => EventKind::ClientUpdated,
            E::CodeReuse { .. } => EventKind::CodeReuse,
            E::ConsentDenied { .. } => EventKind::ConsentDenied,
            E::ConsentGiven { .. } => EventKind::ConsentGiven,
            E::DeviceApproved { .. } => EventKind::DeviceApproved,
            E::DeviceDenied { .. } => EventKind::DeviceDenied,
            E::DeviceForgotten { .. } => EventKind::DeviceForgotten,
            E::DeviceTokenReplayed { .. } => EventKind::DeviceTokenReplayed,
            E::EmailChangeRefused { .. } => EventKind::EmailChangeRefused,
            E::EmailChangeRequested { .. } => EventKind::EmailChangeRequested,
            E::EmailChangeReverted { .. } => EventKind::EmailChangeReverted,
            E::EmailChanged { .. } => EventKind::EmailChanged,
            E::GrantsRevoked { .. } => EventKind::GrantsRevoked,
            E::GroupCreated { .. } => EventKind::GroupCreated,
            E::GroupMemberAdded { .. } => EventKind::GroupMemberAdded,
            E::GroupMemberRemoved { .. } => EventKind::GroupMemberRemoved,
            E::GroupRemoved { .. } => EventKind::GroupRemoved,
            E::FederatedSignInFailed { .. } => EventKind::FederatedSignInFailed,
            E::FederatedSignUp { .. } => EventKind::FederatedSignUp,
            E::IdentityLinked { .. } => EventKind::IdentityLinked,
            E::IdentityUnlinked { .. } => EventKind::IdentityUnlinked,
            E::KeysRotated { .. } => EventKind::KeysRotated,
            E::ProviderAdded { .. } => EventKind::ProviderAdded,
            E::ProviderDisabled { .. } => EventKind::ProviderDisabled,
            E::ProviderEnabled { .. } => EventKind::ProviderEnabled,
            E::ProviderRemoved { .. } => EventKind::ProviderRemoved,
            E::ProviderUpdated { .. } => EventKind::ProviderUpdated,
            E::LoginFailed { .. } => EventKind::LoginFailed,
            E::LoginThrottled { .. } => EventKind::LoginThrottled,
            E::MfaResetByAdmin { .. } => EventKind::MfaResetByAdmin,
            E::NewCountrySignIn { .. } => EventKind::NewCountrySignIn,
            E::NewDeviceSignIn { .. } => EventKind::NewDeviceSignIn,
            E::NotMe { .. } => EventKind::NotMe,
            E::PasskeyAdded { .. } => EventKind::PasskeyAdded,
            E::PasskeyOnlySet { .. } => EventKind::PasskeyOnlySet,
            E::PasskeyPolicySet { .. } => EventKind::PasskeyPolicySet,
            E::PasskeyRemoved { .. } => EventKind::PasskeyRemoved,
            E::PasskeySecondFactor { .. } => EventKind::PasskeySecondFactor,
            E::PasskeySignIn { .. } => EventKind::PasskeySignIn,
            E::PasskeySignInFailed { .. } => EventKind::PasskeySignInFailed,
            E::PasswordChanged { .. } => EventKind::PasswordChanged,
            E::PasswordRemoved { .. } => EventKind::PasswordRemoved,
            E::PasswordSet { .. } => EventKind::PasswordSet,
            E::ProfileChanged { .. } => EventKind::ProfileChanged,
            E::RateLimited { .. } => EventKind::RateLimited,
            E::RecentCredentialRemoved { .. } => EventKind::RecentCredentialRemoved,
            E::RecoveryFactorFailed { .. } => EventKind::RecoveryFactorFailed,
            E::RecoveryFactorPassed { .. } => EventKind::RecoveryFactorPassed,
            E::RecoveryLinkSentByAdmin { .. } => EventKind::RecoveryLinkSentByAdmin,
            E::RecoveryRequested { .. } => EventKind::RecoveryRequested,
            E::RecoveryRequestedUnknown => EventKind::RecoveryRequestedUnknown,
            E::RefreshTokenReuse { .. } => EventKind::RefreshTokenReuse,
            E::RiskPolicySet { .. } => EventKind::RiskPolicySet,
            E::RiskySignInRefused { .. } => EventKind::RiskySignInRefused,
            E::ScimClientCreated { .. } => EventKind::ScimClientCreated,
            E::ScimClientRevoked { .. } => EventKind::ScimClientRevoked,
            E::ScimUserCreated { .. } => EventKind::ScimUserCreated,
            E::ScimUserUpdated { .. } => EventKind::ScimUserUpdated,
            E::SecondFactorFailed { .. } => EventKind::SecondFactorFailed,
            E::SessionMoved { .. } => EventKind::SessionMoved,
            E::SessionRestored { .. } => EventKind::SessionRestored,
            E::SessionsEnded { .. } => EventKind::SessionsEnded,
            E::SignIn { .. } => EventKind::SignIn,
            E::SignInCodeFailed { .. } => EventKind::SignInCodeFailed,
            E::SignInSteppedUp { .. } => EventKind::SignInSteppedUp,
            E::SignOut { .. } => EventKind::SignOut,
            E::SignupAddressTaken => EventKind::SignupAddressTaken,
            E::SignupRequested { .. } => EventKind::SignupRequested,
            E::TokenExchanged { .. } => EventKind::TokenExchanged,
            E::TotpEnrolled { .. } => EventKind::TotpEnrolled,
            E::TotpRemoved { .. } => EventKind::TotpRemoved,
            E::UserDeleted { .. } => EventKind::UserDeleted,
            E::UserDisabled { .. } => EventKind::UserDisabled,
            E::UserEnabled { .. } => EventKind::UserEnabled,
            E::UserInvited { .. } => EventKind::UserInvited,
            E::WebhookAdded { .. } => EventKind::WebhookAdded,
            E::WebhookDisabled { .. } => EventKind::WebhookDisabled,
            E::WebhookRemoved { .. } => EventKind::WebhookRemoved,
        }
    }

    /// The user the event is about (the row's `user_id`), if any.
    pub fn user(&self) -> Option<&str> {
        use SecurityEvent as E;
        let id = match self {
            E::AccountDeleted { user }
            | E::AccountRecovered { user, .. }
            | E::AccountSetUp { user, .. }
            | E::AdminGranted { user, .. }
            | E::AdminRevoked { user, .. }
            | E::AppDisconnected { user, .. }
            | E::BackchannelLogoutDelivered { user, .. }
            | E::BackchannelLogoutFailed { user, .. }
            | E::BackupCodesRegenerated { user, .. }
            | E::ConsentDenied { user, .. }
            | E::ConsentGiven { user, .. }
            | E::DeviceApproved { user, .. }
            | E::DeviceDenied { user, .. }
            | E::DeviceForgotten { user, .. }
            | E::DeviceTokenReplayed { user, .. }
            | E::EmailChangeRefused { user }
            | E::EmailChangeRequested { user }
            | E::EmailChangeReverted { user }
            | E::EmailChanged { user }
            | E::FederatedSignUp { user, .. }
            | E::IdentityLinked { user, .. }
            | E::IdentityUnlinked { user, .. }
            | E::GroupMemberAdded { user, .. }
            | E::GroupMemberRemoved { user, .. }
            | E::MfaResetByAdmin { user }
            | E::NewCountrySignIn { user, .. }
            | E::NewDeviceSignIn { user, .. }
            | E::NotMe { user, .. }
            | E::PasskeyAdded { user, .. }
            | E::PasskeyOnlySet { user, .. }
            | E::PasskeyRemoved { user, .. }
            | E::PasskeySecondFactor { user }
            | E::PasskeySignIn { user }
            | E::PasswordChanged { user, .. }
            | E::PasswordRemoved { user, .. }
            | E::PasswordSet { user, .. }
            | E::ProfileChanged { user, .. }
            | E::RecentCredentialRemoved { user, .. }
            | E::RecoveryFactorFailed { user, .. }
            | E::RecoveryFactorPassed { user, .. }
            | E::RecoveryLinkSentByAdmin { user }
            | E::RecoveryRequested { user }
            | E::RefreshTokenReuse { user, .. }
            | E::RiskPolicySet { user, .. }
            | E::RiskySignInRefused { user, .. }
            | E::ScimUserCreated { user, .. }
            | E::ScimUserUpdated { user }
            | E::SecondFactorFailed { user, .. }
            | E::SessionMoved { user, .. }
            | E::SessionRestored { user }
            | E::SessionsEnded { user, .. }
            | E::SignIn { user, .. }
            | E::SignInCodeFailed { user, .. }
            | E::SignInSteppedUp { user, .. }
            | E::SignOut { user, .. }
            | E::SignupRequested { user }
            | E::TokenExchanged { user, .. }
            | E::TotpEnrolled { user, .. }
            | E::TotpRemoved { user, .. }
            | E::UserDeleted { user, .. }
            | E::UserDisabled { user }
            | E::UserEnabled { user }
            | E::UserInvited { user, .. } => user,
            E::LoginFailed { user, .. } | E::LoginThrottled { user, .. } | E::PasskeySignInFailed { user, .. } | E::FederatedSignInFailed { user, .. } | E::AlertAcknowledged { user, .. } => {
                user.as_ref()?
            }
            E::AnomalyDetected(raised) => raised.anomaly.user()?,
            E::GrantsRevoked { of: RevokedGrants::Client { user, .. }, .. } => &user.as_ref()?.0,
            E::GrantsRevoked { of: RevokedGrants::User { user, .. }, .. } => user,
            E::ApiChanged { .. }
            | E::ApiRegistered { .. }
            | E::ApiRemoved { .. }
            | E::AuditExported { .. }
            | E::ClientCreated { .. }
            | E::ClientDeleted { .. }
            | E::ClientDisabled { .. }
            | E::ClientEnabled { .. }
            | E::ClientScopesChanged { .. }
            | E::ClientSecretRotated { .. }
            | E::ClientUpdated { .. }
            | E::CodeReuse { .. }
            | E::GroupCreated { .. }
            | E::GroupRemoved { .. }
            | E::KeysRotated { .. }
            | E::PasskeyPolicySet { .. }
            | E::ScimClientCreated { .. }
            | E::WebhookAdded { .. }
            | E::WebhookDisabled { .. }
            | E::WebhookRemoved { .. }
            | E::ScimClientRevoked { .. }
            | E::ProviderAdded { .. }
            | E::ProviderDisabled { .. }
            | E::ProviderEnabled { .. }
            | E::ProviderRemoved { .. }
            | E::ProviderUpdated { .. }
            | E::RateLimited { .. }
            | E::RecoveryRequestedUnknown
            | E::SignupAddressTaken => return None,
        };
        Some(&id.0)
    }

    /// The client the event is about (the row's `client_id`), if any.
    pub fn client(&self) -> Option<&str> {
        use SecurityEvent as E;
        let id = match self {
            E::AppDisconnected { client, .. }
            | E::BackchannelLogoutDelivered { client, .. }
            | E::BackchannelLogoutFailed { client, .. }
            | E::ClientCreated { client, .. }
            | E::ClientDeleted { client }
            | E::ClientDisabled { client }
            | E::ClientEnabled { client }
            | E::ClientScopesChanged { client, .. }
            | E::ClientSecretRotated { client }
            | E::ClientUpdated { client, .. }
            | E::CodeReuse { client }
            | E::ConsentDenied { client, .. }
            | E::ConsentGiven { client, .. }
            | E::DeviceApproved { client, .. }
            | E::DeviceDenied { client, .. }
            | E::RefreshTokenReuse { client, .. }
            | E::TokenExchanged { client, .. }
            | E::GrantsRevoked { of: RevokedGrants::Client { client, .. }, .. } => client,
            E::SignIn { client, .. } | E::SignOut { client, .. } => client.as_ref()?,
            E::AnomalyDetected(raised) => raised.anomaly.client()?,
            _ => return None,
        };
        Some(&id.0)
    }

    /// The row's free-text `detail`, worded as it always was.
    pub fn detail(&self) -> String {
        use SecurityEvent as E;
        match self {
            E::AccountDeleted { .. } => "deleted by its owner".into(),
            E::AccountRecovered { sessions_ended, .. } => format!("{sessions_ended} session(s) ended"),
            E::AccountSetUp { methods, .. } => format!("first credential: {}", Amr::join(methods)),
            E::AdminGranted { was_admin, .. } => format!("admin: {was_admin} -> true"),
            E::AdminRevoked { was_admin, .. } => format!("admin: {was_admin} -> false"),
            E::AlertAcknowledged { alert, anomaly, .. } => format!("{anomaly} alert {alert} acknowledged"),
            E::AnomalyDetected(crate::RaisedAnomaly { alert, anomaly }) => format!("{}: {} (alert {alert})", anomaly.kind(), anomaly.evidence()),
            E::ApiChanged { name, audience, change } => format!("API {name} ({audience}): {change}"),
            E::ApiRegistered { name, audience } | E::ApiRemoved { name, audience } => format!("API {name} ({audience})"),
            E::AppDisconnected { .. } => "the user disconnected the app".into(),
            E::AuditExported { filter } => format!("filter {filter}"),
            E::BackchannelLogoutDelivered { round, attempt, .. } => format!("round {round}, attempt {attempt}"),
            E::BackchannelLogoutFailed { rounds, attempts, .. } => format!("gave up after {rounds} rounds of {attempts} attempts"),
            E::BackupCodesRegenerated { cause: CodesCause::FirstPasskey, .. } => "with the first passkey".into(),
            E::BackupCodesRegenerated { cause: CodesCause::Asked { others_ended }, .. } => format!("new backup codes; {}", others(*others_ended)),
            E::ClientCreated { name, .. } => name.clone(),
            E::ClientDeleted { .. } | E::ClientDisabled { .. } | E::ClientEnabled { .. } | E::UserDisabled { .. } | E::UserEnabled { .. } => "by an admin".into(),
            E::ClientScopesChanged { scope, .. } => scope.clone(),
            E::ClientSecretRotated { .. } => "new secret issued".into(),
            E::ClientUpdated { change: ClientChange::Settings { name_before, name, redirect_uris_before, redirect_uris }, .. } => {
                format!("name {name_before:?} -> {name:?}; redirect URIs {redirect_uris_before:?} -> {redirect_uris:?}")
            }
            E::ClientUpdated { change: ClientChange::Links { logo_uri, policy_uri, tos_uri }, .. } => format!("logo {logo_uri:?}, policy {policy_uri:?}, terms {tos_uri:?}"),
            E::ClientUpdated { change: ClientChange::Policies { require_par, require_dpop, jwks_uri }, .. } => {
                format!("PAR required: {require_par}, DPoP required: {require_dpop}, keys at {}", jwks_uri.as_deref().unwrap_or("(none)"))
            }
            E::ClientUpdated { change: ClientChange::TokenExchange { to, impersonation, may_act }, .. } => {
                format!("token exchange to {to:?}, impersonation {impersonation}, may act: {may_act:?}")
            }
            E::CodeReuse { .. } => "authorization code replayed; tokens from its first use revoked".into(),
            E::ConsentDenied { scope, .. } | E::ConsentGiven { scope, .. } | E::DeviceApproved { scope, .. } | E::DeviceDenied { scope, .. } => scope.clone(),
            E::DeviceForgotten { device, .. } => format!("device {device}"),
            E::DeviceTokenReplayed { device, .. } => format!("device {device} ended"),
            E::EmailChangeRefused { .. } => "the new address belongs to another account".into(),
            E::EmailChangeRequested { .. } => "verification link sent to the new address".into(),
            E::EmailChangeReverted { .. } => "old address restored; every session ended".into(),
            E::EmailChanged { .. } => "address changed; the old one was told".into(),
            E::GrantsRevoked { by, grants, of: RevokedGrants::Client { client, user, families } } => {
                format!("{by} revoked {grants} grant(s), {families} refresh family(ies) of client {}{}", client.0, user.as_ref().map(|(_, name)| format!(" for user {name}")).unwrap_or_default())
            }
            E::GrantsRevoked { by, grants, of: RevokedGrants::User { username, .. } } => format!("{by} revoked all {grants} grant(s) of user {username}"),
            E::GroupCreated { group } | E::GroupRemoved { group } | E::GroupMemberAdded { group, .. } | E::GroupMemberRemoved { group, .. } => format!("group {group}"),
            E::FederatedSignInFailed { provider, reason, .. } => format!("through {provider}: {reason}"),
            E::FederatedSignUp { provider, .. } => format!("account created at a first sign-in through {provider}"),
            // Not the upstream account's name or email: the row and the
            // security log line carry no address.
            E::IdentityLinked { provider, via, .. } => format!("{provider} account linked (via {via})"),
            E::IdentityUnlinked { provider, others_ended, .. } => format!("{provider} account unlinked; {}", others(*others_ended)),
            E::KeysRotated { new_keys } => format!("{new_keys} new key(s)"),
            E::ProviderAdded { provider, name } => format!("provider {provider} ({name})"),
            E::ProviderDisabled { provider } | E::ProviderEnabled { provider } | E::ProviderRemoved { provider } | E::ProviderUpdated { provider } => format!("provider {provider}"),
            E::LoginFailed { known_device, .. } | E::LoginThrottled { known_device, .. } => {
                let from = if *known_device { "a known device" } else { "an unknown device" };
                let why = if matches!(self, E::LoginThrottled { .. }) { "too many attempts" } else { "wrong password or unknown user" };
                format!("password sign-in from {from}: {why}")
            }
            E::MfaResetByAdmin { .. } => "authenticator app and backup codes removed; sessions ended".into(),
            E::NewCountrySignIn { country, .. } => format!("signed in from {country}, not seen in the last 90 days"),
            E::NewDeviceSignIn { session, device, .. } => format!("session {session} from {}", device.as_deref().unwrap_or("?")),
            E::NotMe { disowned: Disowned::Session { session }, .. } => format!("the user disowned session {session}"),
            E::NotMe { disowned: Disowned::Event { kind, sessions_ended }, .. } => format!("the user disowned a {kind} event; {sessions_ended} session(s) ended"),
            E::PasskeyAdded { passkey, via: PasskeyAddedVia::Account { name, others_ended }, .. } => format!("passkey {passkey} ({name}); {}", others(*others_ended)),
            E::PasskeyAdded { passkey, via: PasskeyAddedVia::Link { purpose }, .. } => format!("passkey {passkey} from a {purpose} link"),
            E::PasskeyOnlySet { passkey_only, .. } => format!("passkey only: {passkey_only}"),
            E::PasskeyPolicySet { audience, policy } => format!("passkey policy for {audience}: {}", policy.as_deref().unwrap_or("the deployment's")),
            E::PasskeyRemoved { others_ended, .. }
            | E::PasswordChanged { others_ended, .. }
            | E::PasswordRemoved { others_ended, .. }
            | E::PasswordSet { others_ended, .. }
            | E::TotpRemoved { others_ended, .. }
            | E::RecentCredentialRemoved { removal: Removal::Account { others_ended }, .. } => others(*others_ended),
            E::PasskeySecondFactor { .. } => "passkey as the second step".into(),
            E::PasskeySignIn { .. } => "signed in with a passkey".into(),
            E::PasskeySignInFailed { reason: PasskeyRefusal::AssertionRefused, .. } => "the passkey assertion was refused".into(),
            E::PasskeySignInFailed { reason: PasskeyRefusal::AccountDisabled, .. } => "the account is disabled".into(),
            E::ProfileChanged { by_admin: true, .. } => "by an admin".into(),
            E::ProfileChanged { by_admin: false, .. } => "by the user".into(),
            E::RateLimited { limit } => limit.clone(),
            E::RecentCredentialRemoved { removal: Removal::MailLink { credential, sessions_ended }, .. } => {
                format!("{credential} removed from a \"This wasn't me\" link; {sessions_ended} session(s) ended")
            }
            E::RecoveryFactorFailed { why, .. } => match why {
                FactorFailure::Throttled => "throttled",
                FactorFailure::WrongCode => "wrong code",
                FactorFailure::PasskeyRefused => "the passkey assertion was refused",
                FactorFailure::ForeignCeremony => "a passkey ceremony of another link, browser or account",
            }
            .into(),
            E::RecoveryFactorPassed { factor: RecoveryFactor::Code, .. } => "second factor presented for a recovery link".into(),
            E::RecoveryFactorPassed { factor: RecoveryFactor::Passkey, .. } => "passkey presented for a recovery link".into(),
            E::RecoveryLinkSentByAdmin { .. } => "recovery link mailed".into(),
            E::RecoveryRequested { .. } => "recovery link sent".into(),
            E::RecoveryRequestedUnknown => "no such account".into(),
            E::RefreshTokenReuse { family, generation, .. } => format!("family {family} revoked (generation {generation} replayed)"),
            E::RiskPolicySet { policy, .. } => format!("risk policy: {}", policy.as_deref().unwrap_or("the deployment's")),
            E::WebhookAdded { subscription, url } | E::WebhookDisabled { subscription, url } => format!("webhook {subscription} to {url}"),
            E::WebhookRemoved { subscription } => format!("webhook {subscription}"),
            E::ScimClientCreated { client, name } => format!("SCIM client {name} ({client})"),
            E::ScimClientRevoked { client } => format!("SCIM client {client}"),
            E::ScimUserCreated { username, .. } => format!("username {username}"),
            E::ScimUserUpdated { .. } => String::new(),
            E::RiskySignInRefused { risk, .. } => format!("password sign-in refused, no second factor to ask for; {}", risk.to_detail()),
            E::SecondFactorFailed { throttled: true, .. } => "throttled".into(),
            E::SecondFactorFailed { throttled: false, .. } => "wrong code".into(),
            E::SessionMoved { session, .. } => format!("session {session} ended: used from another device or network"),
            E::SessionRestored { .. } => "signed in by a remembered device".into(),
            E::SessionsEnded { ended: EndedSessions::Everything { sessions }, .. } => format!("{sessions} session(s), every device and token, by an admin"),
            E::SessionsEnded { ended: EndedSessions::All { by, sessions }, .. } => format!("{by} ended {sessions} session(s)"),
            E::SessionsEnded { ended: EndedSessions::One { by, session }, .. } => format!("{by} ended session {session}"),
            E::SignIn { methods, remembered, new_device, risk, .. } => {
                let risk = risk.as_ref().map(|r| format!("; {}", r.to_detail())).unwrap_or_default();
                format!("methods {}{}{}{risk}", Amr::join(methods), if *remembered { ", remembered device" } else { "" }, if *new_device { ", new device" } else { "" })
            }
            E::SignInCodeFailed { throttled: false, .. } => "wrong code".into(),
            E::SignInCodeFailed { throttled: true, .. } => "too many wrong codes: the sign-in starts over".into(),
            E::SignInSteppedUp { step, risk, .. } => format!("{}; {}", step.words(), risk.to_detail()),
            E::SignOut { client: None, .. } => "signed out".into(),
            E::SignOut { client: Some(_), .. } => "signed out on the consent page (not this user)".into(),
            E::SignupAddressTaken => "sign-up for a registered address".into(),
            E::SignupRequested { .. } => "verification link sent".into(),
            E::TokenExchanged { subject_client, audience, impersonation: false, .. } => format!("token of client {subject_client} exchanged for {audience}, acting for the user"),
            E::TokenExchanged { subject_client, audience, impersonation: true, .. } => format!("token of client {subject_client} exchanged for {audience}, impersonating the user"),
            E::TotpEnrolled { others_ended, .. } => format!("authenticator app; {}", others(*others_ended)),
            E::UserDeleted { username, .. } => format!("{username} deleted by an admin"),
            E::UserInvited { via: Invitation::Mailed { username, hours }, .. } => format!("invitation for {username}, {hours} h"),
            E::UserInvited { via: Invitation::Api { by }, .. } => format!("by {by}"),
            E::UserInvited { via: Invitation::FirstAdmin { hours }, .. } => format!("the first administrator's set-up link, {hours} h"),
        }
    }
}

impl std::fmt::Display for SecurityEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// One event of every variant (the test below checks none is missing).
    fn one_of_each() -> Vec<SecurityEvent> {
        use SecurityEvent as E;
        let (u, c) = (UserId("u1".into()), ClientId("c1".into()));
        vec![
            E::AccountDeleted { user: u.clone() },
            E::AccountRecovered { user: u.clone(), sessions_ended: 2 },
            E::AccountSetUp { user: u.clone(), methods: vec![Amr::Pwd] },
            E::AdminGranted { user: u.clone(), was_admin: false },
            E::AdminRevoked { user: u.clone(), was_admin: true },
            E::AlertAcknowledged { alert: "a1".into(), anomaly: crate::AnomalyKind::FailureSpike, user: Some(u.clone()) },
            E::AnomalyDetected(crate::RaisedAnomaly { alert: "a1".into(), anomaly: crate::Anomaly::FailureSpike { user: u.clone(), failures: 20, minutes: 10 } }),
            E::AnomalyDetected(crate::RaisedAnomaly { alert: "a2".into(), anomaly: crate::Anomaly::CredentialStuffing { address: "203.0.113.9".into(), accounts: 10, minutes: 10 } }),
            E::AnomalyDetected(crate::RaisedAnomaly { alert: "a3".into(), anomaly: crate::Anomaly::RefreshTokenReuse { user: u.clone(), client: c.clone() } }),
            E::AnomalyDetected(crate::RaisedAnomaly { alert: "a4".into(), anomaly: crate::Anomaly::NewCountry { user: u.clone(), country: "IS".into() } }),
            E::AnomalyDetected(crate::RaisedAnomaly { alert: "a5".into(), anomaly: crate::Anomaly::NewDeviceAfterChange { user: u.clone(), change: crate::AccountChange::Recovery, minutes: 3 } }),
            E::ApiChanged { name: "Orders".into(), audience: "https://orders".into(), change: "published metadata: yes".into() },
            E::ApiRegistered { name: "Orders".into(), audience: "https://orders".into() },
            E::ApiRemoved { name: "Orders".into(), audience: "https://orders".into() },
            E::AppDisconnected { user: u.clone(), client: c.clone() },
            E::AuditExported { filter: "kind=sign_in".into() },
            E::BackchannelLogoutDelivered { user: u.clone(), client: c.clone(), round: 1, attempt: 2 },
            E::BackchannelLogoutFailed { user: u.clone(), client: c.clone(), rounds: 5, attempts: 4 },
            E::BackupCodesRegenerated { user: u.clone(), cause: CodesCause::FirstPasskey },
            E::ClientCreated { client: c.clone(), name: "App".into() },
            E::ClientDeleted { client: c.clone() },
            E::ClientDisabled { client: c.clone() },
            E::ClientEnabled { client: c.clone() },
            E::ClientScopesChanged { client: c.clone(), scope: "openid".into() },
            E::ClientSecretRotated { client: c.clone() },
            E::ClientUpdated { client: c.clone(), change: ClientChange::Links { logo_uri: None, policy_uri: None, tos_uri: None } },
            E::CodeReuse { client: c.clone() },
            E::ConsentDenied { user: u.clone(), client: c.clone(), scope: "openid".into() },
            E::ConsentGiven { user: u.clone(), client: c.clone(), scope: "openid".into() },
            E::DeviceApproved { user: u.clone(), client: c.clone(), scope: "openid".into() },
            E::DeviceDenied { user: u.clone(), client: c.clone(), scope: "openid".into() },
            E::DeviceForgotten { user: u.clone(), device: "d1".into() },
            E::DeviceTokenReplayed { user: u.clone(), device: "d1".into() },
            E::EmailChangeRefused { user: u.clone() },
            E::EmailChangeRequested { user: u.clone() },
            E::EmailChangeReverted { user: u.clone() },
            E::EmailChanged { user: u.clone() },
            E::GrantsRevoked { by: "cli".into(), grants: 1, of: RevokedGrants::User { user: u.clone(), username: "alice".into() } },
            E::GroupCreated { group: "staff".into() },
            E::GroupMemberAdded { group: "staff".into(), user: u.clone() },
            E::GroupMemberRemoved { group: "staff".into(), user: u.clone() },
            E::GroupRemoved { group: "staff".into() },
            E::FederatedSignInFailed { user: None, provider: "corp".into(), reason: "nonce".into() },
            E::FederatedSignUp { user: u.clone(), provider: "corp".into() },
            E::IdentityLinked { user: u.clone(), provider: "corp".into(), via: "sign-in".into() },
            E::IdentityUnlinked { user: u.clone(), provider: "corp".into(), others_ended: 1 },
            E::KeysRotated { new_keys: 2 },
            E::ProviderAdded { provider: "corp".into(), name: "Corp".into() },
            E::ProviderDisabled { provider: "corp".into() },
            E::ProviderEnabled { provider: "corp".into() },
            E::ProviderRemoved { provider: "corp".into() },
            E::ProviderUpdated { provider: "corp".into() },
            E::LoginFailed { user: None, known_device: false },
            E::LoginThrottled { user: Some(u.clone()), known_device: true },
            E::MfaResetByAdmin { user: u.clone() },
            E::NewCountrySignIn { user: u.clone(), country: "DE".into() },
            E::NewDeviceSignIn { user: u.clone(), session: "s1".into(), device: None },
            E::NotMe { user: u.clone(), disowned: Disowned::Session { session: "s1".into() } },
            E::PasskeyAdded { user: u.clone(), passkey: "p1".into(), via: PasskeyAddedVia::Link { purpose: "setup".into() } },
            E::PasskeyOnlySet { user: u.clone(), passkey_only: true },
            E::PasskeyPolicySet { audience: "admins".into(), policy: Some("security-keys".into()) },
            E::PasskeyRemoved { user: u.clone(), others_ended: 0 },
            E::PasskeySecondFactor { user: u.clone() },
            E::PasskeySignIn { user: u.clone() },
            E::PasskeySignInFailed { user: None, reason: PasskeyRefusal::AssertionRefused },
            E::PasswordChanged { user: u.clone(), others_ended: 1 },
            E::PasswordRemoved { user: u.clone(), others_ended: 1 },
            E::PasswordSet { user: u.clone(), others_ended: 1 },
            E::ProfileChanged { user: u.clone(), by_admin: false },
            E::RateLimited { limit: "recovery".into() },
            E::RecentCredentialRemoved { user: u.clone(), removal: Removal::Account { others_ended: 0 } },
            E::RecoveryFactorFailed { user: u.clone(), why: FactorFailure::WrongCode },
            E::RecoveryFactorPassed { user: u.clone(), factor: RecoveryFactor::Code },
            E::RecoveryLinkSentByAdmin { user: u.clone() },
            E::RecoveryRequested { user: u.clone() },
            E::RecoveryRequestedUnknown,
            E::RefreshTokenReuse { user: u.clone(), client: c.clone(), family: "f1".into(), generation: 3 },
            E::RiskPolicySet { user: u.clone(), policy: Some("strict".into()) },
            E::WebhookAdded { subscription: "w1".into(), url: "https://hooks.example.com/".into() },
            E::WebhookDisabled { subscription: "w1".into(), url: "https://hooks.example.com/".into() },
            E::WebhookRemoved { subscription: "w1".into() },
            E::ScimClientCreated { client: "c1".into(), name: "Entra ID".into() },
            E::ScimClientRevoked { client: "c1".into() },
            E::ScimUserCreated { user: u.clone(), username: "bjensen".into() },
            E::ScimUserUpdated { user: u.clone() },
            E::RiskySignInRefused { user: u.clone(), risk: crate::risk::SignInRisk { level: crate::RiskLevel::High, signals: vec![crate::RiskSignal::Blocklisted], place: None } },
            E::SecondFactorFailed { user: u.clone(), throttled: false },
            E::SessionMoved { user: u.clone(), session: "s1".into() },
            E::SessionRestored { user: u.clone() },
            E::SessionsEnded { user: u.clone(), ended: EndedSessions::Everything { sessions: 3 } },
            E::SignIn { user: u.clone(), client: Some(c.clone()), methods: vec![Amr::Pwd, Amr::Otp], remembered: true, new_device: false, risk: None },
            E::SignInCodeFailed { user: u.clone(), throttled: false },
            E::SignInSteppedUp { user: u.clone(), step: StepUp::MailedCode, risk: crate::risk::SignInRisk { level: crate::RiskLevel::Medium, signals: vec![], place: None } },
            E::SignOut { user: u.clone(), client: None },
            E::SignupAddressTaken,
            E::SignupRequested { user: u.clone() },
            E::TokenExchanged { user: u.clone(), client: c.clone(), subject_client: ClientId("c2".into()), audience: "https://orders".into(), impersonation: false },
            E::TotpEnrolled { user: u.clone(), others_ended: 0 },
            E::TotpRemoved { user: u.clone(), others_ended: 0 },
            E::UserDeleted { user: u.clone(), username: "alice".into() },
            E::UserDisabled { user: u.clone() },
            E::UserEnabled { user: u.clone() },
            E::UserInvited { user: u, via: Invitation::Mailed { username: "alice".into(), hours: 72 } },
        ]
    }

    /// Every typed variant has its own stored kind, and together they are
    /// exactly the kinds rows have always had.
    #[test]
    fn every_variant_has_its_own_old_kind() {
        let events = one_of_each();
        let kinds: HashSet<&str> = events.iter().map(|e| e.kind()).collect();
        assert_eq!(kinds.len(), events.len(), "two variants share a kind");
        let old: HashSet<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, old);
        for e in &events {
            assert_eq!(e.outcome(), e.event_kind().outcome());
            assert_eq!(serde_json::to_value(e).expect("serializes")["event"], e.kind(), "the webhook tag is the stored kind");
        }
    }

    /// The stored kinds, byte for byte as before the events were typed.
    #[test]
    fn kinds_are_the_old_strings() {
        let old = "account_deleted account_recovered account_set_up admin_granted admin_revoked alert_acknowledged anomaly_credential_stuffing anomaly_failure_spike anomaly_new_country \
                   anomaly_new_device_after_change anomaly_refresh_token_reuse api_changed api_registered api_removed app_disconnected audit_exported \
                   backchannel_logout_delivered backchannel_logout_failed backup_codes_regenerated client_created client_deleted client_disabled client_enabled \
                   client_scopes_changed client_secret_rotated client_updated code_reuse consent_denied consent_given device_approved device_denied device_forgotten \
                   device_token_replayed email_change_refused email_change_requested email_change_reverted email_changed federated_sign_in_failed federated_sign_up grants_revoked group_created \
                   group_member_added group_member_removed group_removed identity_linked identity_unlinked keys_rotated login_failed login_throttled mfa_reset_by_admin new_country_sign_in new_device_sign_in not_me \
                   passkey_added passkey_only_set passkey_policy_set passkey_removed passkey_second_factor passkey_sign_in passkey_sign_in_failed password_changed password_removed password_set \
                   profile_changed provider_added provider_disabled provider_enabled provider_removed provider_updated rate_limited recent_credential_removed recovery_factor_failed recovery_factor_passed recovery_link_sent_by_admin \
                   recovery_requested recovery_requested_unknown refresh_token_reuse risk_policy_set risky_sign_in_refused scim_client_created scim_client_revoked scim_user_created scim_user_updated second_factor_failed session_moved session_restored sessions_ended sign_in sign_in_code_failed sign_in_stepped_up \
                   sign_out signup_address_taken signup_requested token_exchanged totp_enrolled totp_removed user_deleted user_disabled user_enabled user_invited webhook_added webhook_disabled webhook_removed";
        let now: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(now, old.split_whitespace().collect::<Vec<_>>());
    }

    /// The subjects and wording rows were written with by hand before.
    #[test]
    fn rows_read_as_before() {
        use SecurityEvent as E;
        let (u, c) = (UserId("u1".into()), ClientId("c1".into()));
        let cases: Vec<(SecurityEvent, Option<&str>, Option<&str>, &str)> = vec![
            (E::LoginFailed { user: Some(u.clone()), known_device: false }, Some("u1"), None, "password sign-in from an unknown device: wrong password or unknown user"),
            (E::LoginThrottled { user: None, known_device: true }, None, None, "password sign-in from a known device: too many attempts"),
            (
                E::SignIn { user: u.clone(), client: Some(c.clone()), methods: vec![Amr::Pwd, Amr::Otp], remembered: true, new_device: true, risk: None },
                Some("u1"),
                Some("c1"),
                "methods pwd otp, remembered device, new device",
            ),
            (
                E::SignIn {
                    user: u.clone(),
                    client: None,
                    methods: vec![Amr::Pwd, Amr::Mca],
                    remembered: false,
                    new_device: true,
                    risk: Some(SignInRisk { level: crate::RiskLevel::Medium, signals: vec![crate::RiskSignal::UnknownDevice], place: Some("Berlin, Germany".into()) }),
                },
                Some("u1"),
                None,
                "methods pwd mca, new device; risk medium: unknown device; from Berlin, Germany",
            ),
            (E::RefreshTokenReuse { user: u.clone(), client: c.clone(), family: "f1".into(), generation: 3 }, Some("u1"), Some("c1"), "family f1 revoked (generation 3 replayed)"),
            (E::TotpEnrolled { user: u.clone(), others_ended: 2 }, Some("u1"), None, "authenticator app; 2 other session(s) and every other remembered device ended"),
            (
                E::GrantsRevoked { by: "admin client x".into(), grants: 1, of: RevokedGrants::Client { client: c.clone(), user: Some((u.clone(), "alice".into())), families: 2 } },
                Some("u1"),
                Some("c1"),
                "admin client x revoked 1 grant(s), 2 refresh family(ies) of client c1 for user alice",
            ),
            (E::AdminGranted { user: u.clone(), was_admin: false }, Some("u1"), None, "admin: false -> true"),
            (
                E::TokenExchanged { user: u.clone(), client: c.clone(), subject_client: ClientId("c2".into()), audience: "https://orders".into(), impersonation: true },
                Some("u1"),
                Some("c1"),
                "token of client c2 exchanged for https://orders, impersonating the user",
            ),
            (E::SignOut { user: u, client: Some(c) }, Some("u1"), Some("c1"), "signed out on the consent page (not this user)"),
        ];
        for (e, user, client, detail) in cases {
            assert_eq!((e.user(), e.client(), e.detail().as_str()), (user, client, detail), "{e:?}");
        }
    }

    #[test]
    fn actors_are_stored_as_before() {
        assert_eq!(Actor::Admin(UserId("a1".into())).stored().as_deref(), Some("admin:a1"));
        assert_eq!(Actor::User(UserId("u1".into())).stored().as_deref(), Some("user:u1"));
        assert_eq!(Actor::Client(ClientId("c1".into())).stored().as_deref(), Some("client:c1"));
        assert_eq!(Actor::Cli.stored().as_deref(), Some("cli"));
        assert_eq!((Actor::System.stored(), Actor::Anonymous.stored()), (None, None));
    }

    /// The kinds the account page's "Recent activity" words
    /// (crates/web/src/handlers/activity.rs) and the console counts.
    const SHOWN: [&str; 20] = [
        "sign_in",
        "passkey_sign_in",
        "session_restored",
        "login_failed",
        "login_throttled",
        "second_factor_failed",
        "passkey_sign_in_failed",
        "password_changed",
        "password_set",
        "password_removed",
        "totp_enrolled",
        "totp_removed",
        "passkey_added",
        "passkey_removed",
        "email_changed",
        "account_recovered",
        "new_device_sign_in",
        "mfa_reset_by_admin",
        "backup_codes_regenerated",
        "device_approved",
    ];

    #[test]
    fn kinds_are_unique_and_round_trip() {
        let kinds: HashSet<&str> = EventKind::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(kinds.len(), EventKind::ALL.len());
        for e in EventKind::ALL {
            assert_eq!(EventKind::from_kind(e.as_str()), Some(e));
            assert!(e.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{e:?}");
        }
        for k in SHOWN.iter().chain(["not_me", "refresh_token_reuse"].iter()) {
            assert!(EventKind::from_kind(k).is_some(), "{k} is shown or counted but no event has it");
        }
    }

    #[test]
    fn outcomes_are_those_stored_before() {
        use EventKind::*;
        for e in [
            LoginFailed,
            LoginThrottled,
            SecondFactorFailed,
            RefreshTokenReuse,
            CodeReuse,
            RateLimited,
            DeviceTokenReplayed,
            SessionMoved,
            EmailChangeRefused,
            RecoveryRequestedUnknown,
            BackchannelLogoutFailed,
        ] {
            assert_eq!(e.outcome(), Outcome::Failure, "{e:?}");
        }
        for e in [SignIn, PasswordChanged, UserInvited, AccountRecovered, ConsentDenied, DeviceDenied, RecoveryFactorPassed] {
            assert_eq!(e.outcome(), Outcome::Success, "{e:?}");
        }
        // The rule rows were stored with: a failure iff the kind names one.
        const FAILURES: [&str; 10] = ["_failed", "_refused", "_reuse", "rate_limited", "throttled", "_replayed", "session_moved", "_unknown", "_mismatch", "anomaly_"];
        for e in EventKind::ALL {
            let by_name = if FAILURES.iter().any(|f| e.as_str().contains(f)) { Outcome::Failure } else { Outcome::Success };
            assert_eq!(e.outcome(), by_name, "{e:?}");
        }
    }
}
