"""SQLAlchemy 2 (Core, ORM and reflection) with psycopg2 and psycopg 3: the same
code and the same expected values against PostgreSQL 15 and litewire."""

from decimal import Decimal

import pytest
from sqlalchemy import (ForeignKey, Numeric, String, create_engine, func, inspect, select)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

DRIVERS = ["psycopg2", "psycopg"]


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "sa_compat_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    books: Mapped[list["Book"]] = relationship(back_populates="author",
                                               cascade="all, delete-orphan")


class Book(Base):
    __tablename__ = "sa_compat_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(
        ForeignKey("sa_compat_author.id", ondelete="CASCADE"), index=True)
    title: Mapped[str]
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    author: Mapped[Author] = relationship(back_populates="books")


def make_engine(driver, target):
    e = create_engine(f"postgresql+{driver}://{target.user}@{target.host}:"
                      f"{target.port}/{target.dbname}")
    Base.metadata.drop_all(e)
    Base.metadata.create_all(e)
    return e


@pytest.fixture(params=DRIVERS)
def engine(request, target):
    e = make_engine(request.param, target)
    yield e
    Base.metadata.drop_all(e)
    e.dispose()


def test_reflection(engine):
    i = inspect(engine)
    assert {"sa_compat_author", "sa_compat_book"} <= set(i.get_table_names())
    columns = [(c["name"], str(c["type"]), c["nullable"], c["default"])
               for c in i.get_columns("sa_compat_book")]
    assert columns == [
        ("id", "INTEGER", False, "nextval('sa_compat_book_id_seq'::regclass)"),
        ("author_id", "INTEGER", False, None),
        ("title", "VARCHAR", False, None),
        ("price", "NUMERIC(10, 2)", True, None),
    ]


def test_reflection_of_keys_and_indexes(engine):
    i = inspect(engine)
    assert i.get_pk_constraint("sa_compat_book") == {
        "constrained_columns": ["id"], "name": "sa_compat_book_pkey", "comment": None}
    assert [(fk["name"], fk["constrained_columns"], fk["referred_table"],
             fk["referred_columns"], fk["options"])
            for fk in i.get_foreign_keys("sa_compat_book")] == [
        ("sa_compat_book_author_id_fkey", ["author_id"], "sa_compat_author", ["id"],
         {"ondelete": "CASCADE"})]
    assert [(ix["name"], ix["unique"], ix["column_names"])
            for ix in i.get_indexes("sa_compat_book")] == [
        ("ix_sa_compat_book_author_id", False, ["author_id"])]
    assert [(u["name"], u["column_names"])
            for u in i.get_unique_constraints("sa_compat_author")] == [
        ("sa_compat_author_name_key", ["name"])]


def test_orm_crud(engine):
    with Session(engine) as s, s.begin():
        ann = Author(name="ann")
        ann.books.append(Book(title="one", price=Decimal("12.50")))
        ann.books.append(Book(title="two", price=Decimal("0.1")))
        s.add(ann)
    with Session(engine) as s:
        total = s.scalar(select(func.sum(Book.price)).join(Author).where(Author.name == "ann"))
        assert total == Decimal("12.60")
        book = s.scalars(select(Book).where(Book.title == "two")).one()
        assert book.author.name == "ann"
        book.price = Decimal("2.25")
        s.commit()
        assert s.scalar(select(Book.price).where(Book.title == "two")) == Decimal("2.25")
        s.delete(s.scalars(select(Author)).one())
        s.commit()
        assert s.scalar(select(func.count()).select_from(Book)) == 0
