"""A thin ClickHouse HTTP endpoint in front of chdb (an in-process ClickHouse
of a current release), so that clickhouse-go's HTTP protocol, and therefore
crashstream's own storage code, can run against the newest engine that this
machine can install. Test-only: it binds to loopback and serves one chdb
session, one query at a time.

It does only what clickhouse-go's HTTP transport needs:
  * a query in the POST body (or in the `query` parameter), answered in
    Native format; every other URL parameter that is not a transport one is
    a setting, applied with SET first, so a setting the engine does not know
    fails the request the way a real server does (Code 115);
  * an INSERT ... FORMAT Native in the `query` parameter with the data in
    the body, loaded with FROM INFILE;
  * errors as HTTP 500 with the engine's "Code: N. DB::Exception" text and
    the X-ClickHouse-Exception-Code header.

chdb writes Native as protocol revision 0 does; clickhouse-go asks for its
own revision (client_protocol_version), which adds block info before every
block and a "custom serialization" flag after every column type. The
adapter re-frames the blocks: it walks each column's data, which needs the
sizes of the types below, and fails loudly on a type it does not know.

    python adapter.py --port N --path DIR
"""

import argparse
import os
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from chdb import session

MAX_BODY = 256 << 20  # the largest request body (an INSERT's data) accepted

# URL parameters that belong to the transport, not to the query's settings.
TRANSPORT = {
    "query", "default_format", "client_protocol_version", "database", "query_id",
    "quota_key", "compress", "decompress", "session_id", "session_timeout",
    "user", "password", "wait_end_of_query",
}

SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

FIXED = {
    "UInt8": 1, "Int8": 1, "Bool": 1, "Enum8": 1, "Nothing": 1,
    "UInt16": 2, "Int16": 2, "Date": 2, "Enum16": 2,
    "UInt32": 4, "Int32": 4, "Float32": 4, "DateTime": 4, "Date32": 4, "IPv4": 4,
    "UInt64": 8, "Int64": 8, "Float64": 8, "DateTime64": 8,
    "UUID": 16, "IPv6": 16, "Int128": 16, "UInt128": 16, "Decimal128": 16,
    "Int256": 32, "UInt256": 32, "Decimal256": 32,
    "Decimal32": 4, "Decimal64": 8,
}

# Block info as clickhouse-go reads it: field 1 is_overflows=0, field 2
# bucket_num=-1, end marker 0.
BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"


class NativeError(Exception):
    pass


def read_varint(b, i):
    shift = result = 0
    while True:
        if i >= len(b):
            raise NativeError("truncated varint")
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if c < 0x80:
            return result, i
        shift += 7


def read_u64(b, i):
    if i + 8 > len(b):
        raise NativeError("truncated UInt64")
    return int.from_bytes(b[i:i + 8], "little"), i + 8


def split_type(t):
    """Return (base, [args]) of a type such as Array(Nullable(String))."""
    t = t.strip()
    p = t.find("(")
    if p < 0:
        return t, []
    base, inner = t[:p], t[p + 1:-1]
    args, depth, start, quote = [], 0, 0, False
    for k, c in enumerate(inner):
        if c == "'":
            quote = not quote
        elif quote:
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            args.append(inner[start:k].strip())
            start = k + 1
    args.append(inner[start:].strip())
    return base, args


def tuple_element_type(a):
    # Named tuple elements are "name Type"; a bare type has no space before "(".
    base, _ = split_type(a)
    if " " in base:
        return a.split(" ", 1)[1]
    return a


def skip_prefix(t, b, i):
    """Skip the serialization state prefix of t (LowCardinality's key version)."""
    base, args = split_type(t)
    if base == "LowCardinality":
        _, i = read_u64(b, i)
    elif base in ("Array", "Nullable"):
        i = skip_prefix(args[0], b, i)
    elif base == "Map":
        i = skip_prefix(args[0], b, i)
        i = skip_prefix(args[1], b, i)
    elif base == "Tuple":
        for a in args:
            i = skip_prefix(tuple_element_type(a), b, i)
    return i


def skip_data(t, b, i, n):
    """Skip n values of type t starting at b[i]; return the new offset."""
    base, args = split_type(t)
    if base in FIXED:
        size = FIXED[base]
    elif base == "Decimal":
        p = int(args[0])
        size = 4 if p <= 9 else 8 if p <= 18 else 16 if p <= 38 else 32
    elif base == "FixedString":
        size = int(args[0])
    else:
        size = None
    if size is not None:
        i += size * n
        if i > len(b):
            raise NativeError("truncated %s column" % t)
        return i
    if base == "String":
        for _ in range(n):
            ln, i = read_varint(b, i)
            i += ln
        if i > len(b):
            raise NativeError("truncated String column")
        return i
    if base == "Nullable":
        return skip_data(args[0], b, i + n, n)
    if base == "Array":
        total = 0
        for _ in range(n):
            total, i = read_u64(b, i)
        return skip_data(args[0], b, i, total)
    if base == "Map":
        total = 0
        for _ in range(n):
            total, i = read_u64(b, i)
        i = skip_data(args[0], b, i, total)
        return skip_data(args[1], b, i, total)
    if base == "Tuple":
        for a in args:
            i = skip_data(tuple_element_type(a), b, i, n)
        return i
    if base == "LowCardinality":
        if n == 0:
            return i
        flags, i = read_u64(b, i)
        nkeys, i = read_u64(b, i)
        inner, iargs = split_type(args[0])
        key_type = iargs[0] if inner == "Nullable" else args[0]
        i = skip_data(key_type, b, i, nkeys)
        nidx, i = read_u64(b, i)
        return i + nidx * (1, 2, 4, 8)[flags & 0xFF]
    raise NativeError("the adapter does not know the size of type %s" % t)


def reframe(native):
    """Native of revision 0 -> Native of the revision clickhouse-go reads."""
    out, i = bytearray(), 0
    while i < len(native):
        ncols, i = read_varint(native, i)
        nrows, i = read_varint(native, i)
        out += BLOCK_INFO
        out += encode_varint(ncols) + encode_varint(nrows)
        for _ in range(ncols):
            start = i
            ln, i = read_varint(native, i)
            i += ln
            ln, i = read_varint(native, i)
            typ = native[i:i + ln].decode()
            i += ln
            out += native[start:i] + b"\x00"  # no custom serialization
            start = i
            if nrows:
                i = skip_prefix(typ, native, i)
                i = skip_data(typ, native, i, nrows)
            out += native[start:i]
    return bytes(out)


def encode_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def quote(v):
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    def __init__(self, path):
        self.sess = session.Session(path)
        self.lock = threading.Lock()

    def run(self, sql, settings, data):
        with self.lock:
            for k, v in settings:
                self.sess.query("SET %s = %s" % (k, quote(v)))
            if data is None:
                return self.sess.query(sql, "Native").bytes()
            m = re.match(r"(?is)^\s*(INSERT\s+INTO\s+.*?)\s+FORMAT\s+Native\s*$", sql)
            if not m:
                raise ValueError("an INSERT with data must end in FORMAT Native: %r" % sql[:200])
            with tempfile.NamedTemporaryFile(suffix=".native", delete=False) as f:
                f.write(data)
            try:
                self.sess.query("%s FROM INFILE '%s' FORMAT Native" % (m.group(1), f.name))
            finally:
                os.unlink(f.name)
            return b""


def make_handler(engine):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the test's output is what matters
            pass

        def reply(self, code, body, headers=()):
            self.send_response(code)
            for k, v in headers:
                self.send_header(k, v)
            if code != 200:
                # A client that gives up on an error (clickhouse-go's
                # failed handshake) keeps no idle connection behind.
                self.send_header("Connection", "close")
                self.close_connection = True
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            u = urlparse(self.path)
            if u.path in ("/ping", "/"):
                q = parse_qs(u.query)
                if "query" not in q:
                    return self.reply(200, b"Ok.\n")
            return self.handle_query(b"")

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self.read_chunked()
            else:
                if n > MAX_BODY:
                    return self.reply(413, b"request body too large\n")
                body = self.rfile.read(n)
            if body is None:
                return self.reply(413, b"request body too large\n")
            self.handle_query(body)

        def read_chunked(self):
            out = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    return None

        def handle_query(self, body):
            q = parse_qs(urlparse(self.path).query, keep_blank_values=True)
            settings = []
            for k, vs in q.items():
                if k in TRANSPORT or k.startswith("param_"):
                    continue
                if not SETTING_NAME.match(k):
                    return self.reply(400, b"Code: 115. DB::Exception: bad setting name\n",
                                      [("X-ClickHouse-Exception-Code", "115")])
                settings.append((k, vs[-1]))
            if "query" in q:
                sql, data = q["query"][-1], body
            else:
                sql, data = body.decode("utf-8"), None
            try:
                out = engine.run(sql, settings, data)
                out = reframe(out)
            except Exception as e:  # the engine's own error text, as a server sends it
                msg = str(e)
                m = re.match(r"Code: (\d+)", msg)
                code = m.group(1) if m else "1001"
                if not m:
                    msg = "Code: 1001. DB::Exception: " + msg
                return self.reply(500, (msg + "\n").encode(), [("X-ClickHouse-Exception-Code", code)])
            self.reply(200, out, [("Content-Type", "application/octet-stream"),
                                  ("X-ClickHouse-Format", "Native")])

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    a = ap.parse_args()
    engine = Engine(a.path)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(engine))
    v = engine.sess.query("SELECT version()", "TSV").bytes().decode().strip()
    print("chdb adapter: ClickHouse %s on 127.0.0.1:%d" % (v, a.port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
