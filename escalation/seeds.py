"""One seed scheme: every random draw descends from a master seed through named streams.

``spawn_seeds(master, n)`` gives the run seeds of an ensemble (each run's randomness then depends
only on its own seed, so results do not depend on how runs are spread over processes). A job
that needs several independent sets (a calibration: the ABC proposals, the report's runs, the
candidates' runs, ...) takes them from :class:`Streams`: ``Streams(master).child("report")``
is a stream of its own, the same for the same master and name whatever else the job draws, and
unrelated to every other name. Within a run, each observing source draws from
:func:`observation_rng`, named by the run's seed and the source.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _seed_of(sequence: np.random.SeedSequence) -> int:
    """A 63-bit integer seed from a seed sequence."""
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def spawn_seeds(master: int, n: int) -> list[int]:
    """``n`` independent run seeds drawn from one master seed (63-bit integers)."""
    return [_seed_of(c) for c in np.random.SeedSequence(master).spawn(n)]


def observation_rng(run_seed: int, source: str) -> np.random.Generator:
    """The stream from which a run's observing ``source`` draws which events it sees: fixed by
    the run's seed and the source's name, so adding a series never changes another's draws."""
    digest = hashlib.sha256(f"{run_seed}:{source}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


class Streams:
    """Named, independent random streams under one master seed.

    ``Streams(7).child("abc").child(3)`` names a stream by its path; the same path always gives
    the same draws. :meth:`seeds` gives run seeds, :meth:`seed` one integer seed, :meth:`rng` a
    numpy Generator.
    """

    def __init__(self, master: int, path: tuple[int | str, ...] = ()) -> None:
        self.master = int(master)
        self.path = path

    def child(self, name: int | str) -> Streams:
        """The stream named ``name`` below this one."""
        return Streams(self.master, (*self.path, name))

    def _sequence(self) -> np.random.SeedSequence:
        key = tuple(k if isinstance(k, int) else _name_key(k) for k in self.path)
        return np.random.SeedSequence(self.master, spawn_key=key)

    def seeds(self, n: int) -> list[int]:
        """``n`` run seeds from this stream."""
        return [_seed_of(c) for c in self._sequence().spawn(n)]

    def seed(self) -> int:
        """One integer seed from this stream."""
        return _seed_of(self._sequence())

    def rng(self) -> np.random.Generator:
        """A generator drawing from this stream."""
        return np.random.default_rng(self._sequence())

    def __repr__(self) -> str:
        return f"Streams({self.master}, {self.path!r})"
