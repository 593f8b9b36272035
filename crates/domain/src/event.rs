//! Security events: every kind of audit-trail row, typed. The stored kind
//! ([`SecurityEvent::kind`]) is the string rows have always carried, so old
//! rows still read the same, the admin audit filter still matches them and the
//! account page's "Recent activity" still words them.

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

/// One kind of audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEvent {
    AccountDeleted,
    AccountRecovered,
    AccountSetUp,
    AdminGranted,
    AdminRevoked,
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
    GrantsRevoked,
    GroupCreated,
    GroupMemberAdded,
    GroupMemberRemoved,
    GroupRemoved,
    KeysRotated,
    LoginFailed,
    LoginThrottled,
    MfaResetByAdmin,
    NewDeviceSignIn,
    NotMe,
    PasskeyAdded,
    PasskeyRemoved,
    PasskeySecondFactor,
    PasskeySignIn,
    PasskeySignInFailed,
    PasswordChanged,
    PasswordRemoved,
    PasswordSet,
    ProfileChanged,
    RateLimited,
    RecentCredentialRemoved,
    RecoveryFactorFailed,
    RecoveryFactorPassed,
    RecoveryLinkSentByAdmin,
    RecoveryRequested,
    RecoveryRequestedUnknown,
    RefreshTokenReuse,
    SecondFactorFailed,
    SessionMoved,
    SessionRestored,
    SessionsEnded,
    SignIn,
    SignOut,
    SignupAddressTaken,
    SignupRequested,
    TotpEnrolled,
    TotpRemoved,
    UserDeleted,
    UserDisabled,
    UserEnabled,
    UserInvited,
}

impl SecurityEvent {
    /// Every kind, for tests and lookups.
    pub const ALL: [SecurityEvent; 72] = [
        SecurityEvent::AccountDeleted,
        SecurityEvent::AccountRecovered,
        SecurityEvent::AccountSetUp,
        SecurityEvent::AdminGranted,
        SecurityEvent::AdminRevoked,
        SecurityEvent::ApiRegistered,
        SecurityEvent::ApiRemoved,
        SecurityEvent::AppDisconnected,
        SecurityEvent::AuditExported,
        SecurityEvent::BackchannelLogoutDelivered,
        SecurityEvent::BackchannelLogoutFailed,
        SecurityEvent::BackupCodesRegenerated,
        SecurityEvent::ClientCreated,
        SecurityEvent::ClientDeleted,
        SecurityEvent::ClientDisabled,
        SecurityEvent::ClientEnabled,
        SecurityEvent::ClientScopesChanged,
        SecurityEvent::ClientSecretRotated,
        SecurityEvent::ClientUpdated,
        SecurityEvent::CodeReuse,
        SecurityEvent::ConsentDenied,
        SecurityEvent::ConsentGiven,
        SecurityEvent::DeviceApproved,
        SecurityEvent::DeviceDenied,
        SecurityEvent::DeviceForgotten,
        SecurityEvent::DeviceTokenReplayed,
        SecurityEvent::EmailChangeRefused,
        SecurityEvent::EmailChangeRequested,
        SecurityEvent::EmailChangeReverted,
        SecurityEvent::EmailChanged,
        SecurityEvent::GrantsRevoked,
        SecurityEvent::GroupCreated,
        SecurityEvent::GroupMemberAdded,
        SecurityEvent::GroupMemberRemoved,
        SecurityEvent::GroupRemoved,
        SecurityEvent::KeysRotated,
        SecurityEvent::LoginFailed,
        SecurityEvent::LoginThrottled,
        SecurityEvent::MfaResetByAdmin,
        SecurityEvent::NewDeviceSignIn,
        SecurityEvent::NotMe,
        SecurityEvent::PasskeyAdded,
        SecurityEvent::PasskeyRemoved,
        SecurityEvent::PasskeySecondFactor,
        SecurityEvent::PasskeySignIn,
        SecurityEvent::PasskeySignInFailed,
        SecurityEvent::PasswordChanged,
        SecurityEvent::PasswordRemoved,
        SecurityEvent::PasswordSet,
        SecurityEvent::ProfileChanged,
        SecurityEvent::RateLimited,
        SecurityEvent::RecentCredentialRemoved,
        SecurityEvent::RecoveryFactorFailed,
        SecurityEvent::RecoveryFactorPassed,
        SecurityEvent::RecoveryLinkSentByAdmin,
        SecurityEvent::RecoveryRequested,
        SecurityEvent::RecoveryRequestedUnknown,
        SecurityEvent::RefreshTokenReuse,
        SecurityEvent::SecondFactorFailed,
        SecurityEvent::SessionMoved,
        SecurityEvent::SessionRestored,
        SecurityEvent::SessionsEnded,
        SecurityEvent::SignIn,
        SecurityEvent::SignOut,
        SecurityEvent::SignupAddressTaken,
        SecurityEvent::SignupRequested,
        SecurityEvent::TotpEnrolled,
        SecurityEvent::TotpRemoved,
        SecurityEvent::UserDeleted,
        SecurityEvent::UserDisabled,
        SecurityEvent::UserEnabled,
        SecurityEvent::UserInvited,
    ];

    /// The kind as stored in audit rows (never change one: old rows, filters
    /// and the account page's wording depend on it).
    pub fn kind(&self) -> &'static str {
        use SecurityEvent::*;
        match self {
            AccountDeleted => "account_deleted",
            AccountRecovered => "account_recovered",
            AccountSetUp => "account_set_up",
            AdminGranted => "admin_granted",
            AdminRevoked => "admin_revoked",
            ApiRegistered => "api_registered",
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
            GrantsRevoked => "grants_revoked",
            GroupCreated => "group_created",
            GroupMemberAdded => "group_member_added",
            GroupMemberRemoved => "group_member_removed",
            GroupRemoved => "group_removed",
            KeysRotated => "keys_rotated",
            LoginFailed => "login_failed",
            LoginThrottled => "login_throttled",
            MfaResetByAdmin => "mfa_reset_by_admin",
            NewDeviceSignIn => "new_device_sign_in",
            NotMe => "not_me",
            PasskeyAdded => "passkey_added",
            PasskeyRemoved => "passkey_removed",
            PasskeySecondFactor => "passkey_second_factor",
            PasskeySignIn => "passkey_sign_in",
            PasskeySignInFailed => "passkey_sign_in_failed",
            PasswordChanged => "password_changed",
            PasswordRemoved => "password_removed",
            PasswordSet => "password_set",
            ProfileChanged => "profile_changed",
            RateLimited => "rate_limited",
            RecentCredentialRemoved => "recent_credential_removed",
            RecoveryFactorFailed => "recovery_factor_failed",
            RecoveryFactorPassed => "recovery_factor_passed",
            RecoveryLinkSentByAdmin => "recovery_link_sent_by_admin",
            RecoveryRequested => "recovery_requested",
            RecoveryRequestedUnknown => "recovery_requested_unknown",
            RefreshTokenReuse => "refresh_token_reuse",
            SecondFactorFailed => "second_factor_failed",
            SessionMoved => "session_moved",
            SessionRestored => "session_restored",
            SessionsEnded => "sessions_ended",
            SignIn => "sign_in",
            SignOut => "sign_out",
            SignupAddressTaken => "signup_address_taken",
            SignupRequested => "signup_requested",
            TotpEnrolled => "totp_enrolled",
            TotpRemoved => "totp_removed",
            UserDeleted => "user_deleted",
            UserDisabled => "user_disabled",
            UserEnabled => "user_enabled",
            UserInvited => "user_invited",
        }
    }

    /// Refusals, failures and detected attacks are failures; the rest success.
    pub fn outcome(&self) -> Outcome {
        use SecurityEvent::*;
        match self {
            BackchannelLogoutFailed
            | CodeReuse
            | DeviceTokenReplayed
            | EmailChangeRefused
            | LoginFailed
            | LoginThrottled
            | PasskeySignInFailed
            | RateLimited
            | RecoveryFactorFailed
            | RecoveryRequestedUnknown
            | RefreshTokenReuse
            | SecondFactorFailed
            | SessionMoved => Outcome::Failure,
            _ => Outcome::Success,
        }
    }

    /// The event of a stored kind, if it is one.
    pub fn from_kind(kind: &str) -> Option<SecurityEvent> {
        SecurityEvent::ALL.into_iter().find(|e| e.kind() == kind)
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
        let kinds: HashSet<&str> = SecurityEvent::ALL.iter().map(|e| e.kind()).collect();
        assert_eq!(kinds.len(), SecurityEvent::ALL.len());
        for e in SecurityEvent::ALL {
            assert_eq!(SecurityEvent::from_kind(e.kind()), Some(e));
            assert!(e.kind().chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{e:?}");
        }
        for k in SHOWN.iter().chain(["not_me", "refresh_token_reuse"].iter()) {
            assert!(SecurityEvent::from_kind(k).is_some(), "{k} is shown or counted but no event has it");
        }
    }

    #[test]
    fn outcomes_are_those_stored_before() {
        use SecurityEvent::*;
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
        const FAILURES: [&str; 9] = ["_failed", "_refused", "_reuse", "rate_limited", "throttled", "_replayed", "session_moved", "_unknown", "_mismatch"];
        for e in SecurityEvent::ALL {
            let by_name = if FAILURES.iter().any(|f| e.kind().contains(f)) { Outcome::Failure } else { Outcome::Success };
            assert_eq!(e.outcome(), by_name, "{e:?}");
        }
    }
}
