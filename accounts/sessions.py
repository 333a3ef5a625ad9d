"""Session keys SMC keeps, in one place."""

MEMBERSHIP_KEY = "smc_membership_id"
LOGIN_AT_KEY = "smc_login_at"
