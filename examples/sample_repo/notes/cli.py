"""Command-line entry point: ``python -m notes.cli <command> ...``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from notes.auth import authenticate_user, register_user, verify_token
from notes.config import load_settings
from notes.markdown import extract_title, render_markdown, slugify
from notes.search import build_index, search_notes
from notes.storage import Note, NoteStore

USERS_FILE = Path("data/users.json")


def _load_users() -> dict[str, str]:
    """Read the username -> password-hash table, or an empty one on first run."""
    if USERS_FILE.exists():
        return json.loads(USERS_FILE.read_text(encoding="utf-8"))
    return {}


def cmd_new(store: NoteStore, args: argparse.Namespace) -> int:
    """Create a note from a Markdown file; the title comes from its first heading."""
    text = Path(args.file).read_text(encoding="utf-8")
    note = Note(title=extract_title(text), body=text, tags=args.tag or [])
    print(store.save(note))
    return 0


def cmd_publish(store: NoteStore, args: argparse.Namespace) -> int:
    """Render every note to an HTML page in the output directory, plus an index page."""
    settings = store.settings
    if verify_token(args.token, settings.secret_key) is None:
        print("publish: invalid or expired token", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    links = []
    for note in store.all_notes():
        page = out_dir / f"{slugify(note.title)}.html"
        page.write_text(render_markdown(note.body), encoding="utf-8")
        links.append(f'<li><a href="{page.name}">{note.title}</a></li>')
    index = f"<h1>{settings.title}</h1>\n<ul>\n" + "\n".join(links) + "\n</ul>\n"
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    return 0


def cmd_find(store: NoteStore, args: argparse.Namespace) -> int:
    """Print the slugs of notes that match every word of the query."""
    for slug in search_notes(build_index(store), " ".join(args.words)):
        print(slug)
    return 0


def cmd_login(store: NoteStore, args: argparse.Namespace) -> int:
    """Prompt for a password and print a session token on success."""
    users = _load_users()
    password = getpass.getpass("password: ")
    token = authenticate_user(users, args.user, password,
                              store.settings.secret_key, store.settings.token_ttl_seconds)
    if token is None:
        print("login failed", file=sys.stderr)
        return 1
    print(token)
    return 0


def cmd_adduser(store: NoteStore, args: argparse.Namespace) -> int:
    """Create an admin account and persist the user table."""
    users = _load_users()
    register_user(users, args.user, getpass.getpass("new password: "))
    USERS_FILE.parent.mkdir(parents=True, exist_ok=True)
    USERS_FILE.write_text(json.dumps(users, indent=2), encoding="utf-8")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Describe the sub-commands and their arguments."""
    parser = argparse.ArgumentParser(prog="notes")
    parser.add_argument("--config", help="path to settings.toml")
    sub = parser.add_subparsers(dest="command", required=True)

    new = sub.add_parser("new", help="store a Markdown file as a note")
    new.add_argument("file")
    new.add_argument("--tag", action="append")
    new.set_defaults(handler=cmd_new)

    publish = sub.add_parser("publish", help="render all notes to HTML")
    publish.add_argument("--out", default="build/site")
    publish.add_argument("--token", required=True)
    publish.set_defaults(handler=cmd_publish)

    find = sub.add_parser("find", help="full-text search")
    find.add_argument("words", nargs="+")
    find.set_defaults(handler=cmd_find)

    for name, handler in (("login", cmd_login), ("adduser", cmd_adduser)):
        p = sub.add_parser(name)
        p.add_argument("user")
        p.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, open the note store and dispatch to a handler."""
    args = build_parser().parse_args(argv)
    store = NoteStore(settings=load_settings(args.config))
    return args.handler(store, args)


if __name__ == "__main__":
    raise SystemExit(main())
