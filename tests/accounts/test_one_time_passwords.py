"""One-time passwords never trip the policy for the account they are made for."""

from __future__ import annotations

from civgrid.grids.accounts.service import PasswordPolicy, generate_password


def test_a_one_time_password_never_contains_the_username():
    # "a" is in about one random 16-character password in five: without the username
    # the policy would refuse them at create_user (the permission matrix's flake)
    for _ in range(200):
        pw = generate_password(username="a")
        assert "a" not in pw.lower()
        assert PasswordPolicy().problems(pw, "a") == []
