"""A pipeline worker in Python (pyzmq / libzmq), for patterns/mixed_peers.rs.

Usage: python3 mixed_peers_worker.py NAME TASKS_ENDPOINT RESULTS_ENDPOINT KILL_ENDPOINT

Pulls tasks from the zocket ventilator, pushes results to the zocket sink, and exits when
the sink publishes KILL (or when nothing at all has come for IDLE_LIMIT_MS, so that a worker
never outlives a parent that died). Messages are the same as in patterns/pipeline.rs:
"probe" -> "ready NAME", "task N MS" -> (sleep MS) "result NAME N*N".
"""

import sys
import time

import zmq

IDLE_LIMIT_MS = 30_000


def main():
    name, tasks_ep, results_ep, kill_ep = sys.argv[1:5]
    ctx = zmq.Context()
    tasks = ctx.socket(zmq.PULL)
    tasks.connect(tasks_ep)
    results = ctx.socket(zmq.PUSH)
    results.connect(results_ep)
    kill = ctx.socket(zmq.SUB)
    kill.setsockopt(zmq.SUBSCRIBE, b"KILL")
    kill.connect(kill_ep)

    poller = zmq.Poller()
    poller.register(tasks, zmq.POLLIN)
    poller.register(kill, zmq.POLLIN)
    while True:
        ready = dict(poller.poll(IDLE_LIMIT_MS))
        if not ready or kill in ready:
            break
        words = tasks.recv().decode().split()
        if words == ["probe"]:
            results.send_string(f"ready {name}")
        elif len(words) == 3 and words[0] == "task":
            n, ms = int(words[1]), int(words[2])
            time.sleep(ms / 1000)
            results.send_string(f"result {name} {n * n}")

    for s in (tasks, results, kill):
        s.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main()
