"""``repository.lock_account``: the account's write lock, taken once per transaction, its data
version bumped once per write transaction (a batch of operations asks for it per operation)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from optiply.server.auth import admin
from optiply.server.storage.account_data import ACCOUNTS
from optiply.server.storage.repository import lock_account


def version(engine: Engine, account: int) -> int:
    with engine.connect() as connection:
        found: int = connection.scalar(
            select(ACCOUNTS.c.data_version).where(ACCOUNTS.c.id == account)
        )
    return found


def test_one_transaction_bumps_each_account_once_however_often_it_asks(
    storage_engine: Engine,
) -> None:
    first = admin.create_account(storage_engine, name="First").id
    second = admin.create_account(storage_engine, name="Second").id
    before = version(storage_engine, first), version(storage_engine, second)

    with storage_engine.begin() as connection:
        for _ in range(3):
            lock_account(connection, first)
        lock_account(connection, second)
        lock_account(connection, first)

    assert version(storage_engine, first) == before[0] + 1
    assert version(storage_engine, second) == before[1] + 1


def test_every_transaction_takes_the_lock_again(storage_engine: Engine) -> None:
    account = admin.create_account(storage_engine, name="Shop").id
    before = version(storage_engine, account)

    with storage_engine.connect() as connection:  # one connection, three transactions
        for _ in range(3):
            with connection.begin():
                lock_account(connection, account)  # the transaction's first statement
                lock_account(connection, account)
        with connection.begin():
            connection.execute(select(1))  # begun by another statement
            lock_account(connection, account)
        rolled_back = connection.begin()
        lock_account(connection, account)
        rolled_back.rollback()
        with connection.begin():
            lock_account(connection, account)
        for _ in range(2):  # transactions begun by the lock's own statement
            lock_account(connection, account)
            connection.commit()

    assert version(storage_engine, account) == before + 7
