"""Rate limits hold under concurrency: many requests arriving at once are counted one by one,
so exactly the limit gets through, on both database backends."""

from __future__ import annotations

import pytest

from community_helpers import PASSWORD, cheap_password_hashing, make_user
from helpers import add_papers, all_at_once, paper
from paperfeed.community.accounts import (
    FAILED_LOGINS_PER_ACCOUNT,
    FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS,
    FAILED_LOGINS_PER_ADDRESS,
    SIGN_UPS_PER_ADDRESS,
)
from paperfeed.community.comments import COMMENTS_PER_USER
from paperfeed.core import PaperFeed


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


def test_concurrent_guesses_at_one_account_from_one_address_check_only_the_free_few(core: PaperFeed) -> None:
    make_user(core, "alice")
    outcomes = all_at_once(40, lambda n: core.log_in("alice", f"guess {n}", address="192.0.2.66"))
    # "refused" means the password was checked (and wrong); the rest never got that far.
    assert outcomes == {"refused": FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS.limit, "throttled": 37}


def test_concurrent_guesses_from_one_address_at_many_accounts_stop_at_the_address_limit(
    core: PaperFeed,
) -> None:
    outcomes = all_at_once(60, lambda n: core.log_in(f"user{n}", "wrong guess", address="192.0.2.66"))
    assert outcomes == {"refused": FAILED_LOGINS_PER_ADDRESS.limit, "throttled": 40}


def test_concurrent_guesses_at_one_account_from_many_addresses_stop_at_the_account_ceiling(
    core: PaperFeed,
) -> None:
    make_user(core, "alice")
    ceiling = FAILED_LOGINS_PER_ACCOUNT.limit
    outcomes = all_at_once(
        ceiling + 20, lambda n: core.log_in("alice", f"guess {n}", address=f"10.0.{n // 200}.{n % 200}")
    )
    assert outcomes == {"refused": ceiling, "throttled": 20}


def test_concurrent_sign_ups_from_one_address_make_exactly_the_allowed_accounts(core: PaperFeed) -> None:
    outcomes = all_at_once(15, lambda n: core.sign_up(f"user{n}", PASSWORD, address="192.0.2.66"))
    assert outcomes == {"ok": SIGN_UPS_PER_ADDRESS.limit, "throttled": 10}
    assert sum(core.store.users.by_name(f"user{n}") is not None for n in range(15)) == 5


def test_concurrent_comments_by_one_user_post_exactly_the_allowed_number(core: PaperFeed) -> None:
    add_papers(core, paper("Sparse Attention at Scale", arxiv_id="2401.00001"))
    alice = make_user(core, "alice")
    outcomes = all_at_once(30, lambda n: core.add_comment(alice, "2401.00001", f"comment {n}"))
    assert outcomes == {"ok": COMMENTS_PER_USER.limit, "throttled": 10}
    assert len(core.comments(core.paper("2401.00001"), alice)) == COMMENTS_PER_USER.limit
