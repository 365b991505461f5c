#!/usr/bin/python3
"""Small DNS clients the end-to-end tests run inside the lab namespace (stdlib only).

  client.py tcp-preopened --server IP --qname NAME --dir DIR
      Connects to IP:53 over TCP at once and creates DIR/preopened.connected. Waits for
      DIR/preopened.go, then sends one A query for NAME on that connection (2-byte length
      framing), reads the response, writes "rcode=N answers=M" to DIR/preopened.answer and
      stays alive until DIR/preopened.done appears (so the agent can still read its /proc
      entry), at most 60 s.

  client.py udp-hold --bind IP --dir DIR
      Binds a UDP socket to IP:53, creates DIR/held.bound and holds the socket for 60 s
      (or until killed) without ever reading it. Reading would name the process to the agent
      (its recvmsg hook) and so would sending: queries that arrive at this socket can be
      attributed only by the agent's scan for sockets older than itself.

  client.py udp-raw [--linger S] --server IP HEX...
      Sends each HEX string as one UDP datagram to IP:53 from one socket, waits up to 1 s for
      whatever comes back, and prints "sent N, received M"; with --linger stays S seconds more
      (a long-lived client, whose /proc entry the agent can still read).
"""
import argparse
import os
import socket
import struct
import sys
import time


def build_query(qid, qname, qtype=1):
    """A standard query with RD set, one question, no EDNS."""
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    name = b"".join(bytes([len(label)]) + label.encode() for label in qname.split(".") if label)
    return header + name + b"\x00" + struct.pack("!HH", qtype, 1)


def wait_for_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def tcp_preopened(args):
    sock = socket.create_connection((args.server, 53), timeout=10)
    open(os.path.join(args.dir, "preopened.connected"), "w").close()
    if not wait_for_file(os.path.join(args.dir, "preopened.go"), 60):
        print("never told to go", file=sys.stderr)
        return 1
    query = build_query(0x5150, args.qname)
    sock.sendall(struct.pack("!H", len(query)) + query)
    (length,) = struct.unpack("!H", recv_exact(sock, 2))
    response = recv_exact(sock, length)
    rcode = response[3] & 0x0F
    (ancount,) = struct.unpack("!H", response[6:8])
    with open(os.path.join(args.dir, "preopened.answer"), "w") as f:
        f.write(f"rcode={rcode} answers={ancount}\n")
    wait_for_file(os.path.join(args.dir, "preopened.done"), 60)
    sock.close()
    return 0


def udp_hold(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.bind, 53))
    open(os.path.join(args.dir, "held.bound"), "w").close()
    time.sleep(60)
    sock.close()
    return 0


def udp_raw(args):
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    for payload in args.payloads:
        sock.sendto(bytes.fromhex(payload), (args.server, 53))
    received = 0
    try:
        while received < len(args.payloads):
            sock.recv(65535)
            received += 1
    except socket.timeout:
        pass
    print(f"sent {len(args.payloads)}, received {received}")
    time.sleep(args.linger)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tcp-preopened")
    p.add_argument("--server", required=True)
    p.add_argument("--qname", required=True)
    p.add_argument("--dir", required=True)
    p = sub.add_parser("udp-hold")
    p.add_argument("--bind", required=True)
    p.add_argument("--dir", required=True)
    p = sub.add_parser("udp-raw")
    p.add_argument("--server", required=True)
    p.add_argument("--linger", type=float, default=0)
    p.add_argument("payloads", nargs="+")
    args = parser.parse_args()
    commands = {"tcp-preopened": tcp_preopened, "udp-hold": udp_hold, "udp-raw": udp_raw}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
