"""bench/benchutil.py — small helpers the Python benchmarks share: free loopback ports and a
process's peak RSS. Imported by the scripts under bench/*/ (they put bench/ on sys.path)."""

import socket


def free_port(kind=socket.SOCK_STREAM):
    """A port free on 127.0.0.1 for `kind` (SOCK_STREAM or SOCK_DGRAM) at the time of the call."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def vm_hwm(pid):
    """Peak RSS (VmHWM) of process `pid` in bytes, or None when it cannot be read (gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
