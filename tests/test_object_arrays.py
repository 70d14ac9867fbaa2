"""Object arrays of sequences (``np.save`` of a list of lists, of 1-D or ``(t, F)`` arrays, token
ids; object members of ``np.savez``): never unpickled without ``--allow-pickle``; with it, read
as ragged sequences (values + offsets), so ``check``, ``pad``, ``bucket`` and ``inspect`` take
them, and what is not sequences of numbers is named, first bad element first.

Every file here is written by numpy itself (``np.save``/``np.savez`` with pickling); the padded
outputs train one step of PyTorch's ``nn.GRU`` (``pack_padded_sequence`` with the lengths) and
of Keras (jax backend, in a subprocess) with the mask, and both give each sequence the output it
has alone."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsdoctor
from dsdoctor.arrays import Ragged
from dsdoctor.sources.objects import from_objects

from .conftest import assert_clean_error, cli, run


def objects(items: list) -> np.ndarray:
    """A 1-D object array with one element per item, as ``np.array(items, dtype=object)`` makes
    of ragged lists (an item that is itself an array stays one element)."""
    arr = np.empty(len(items), dtype=object)
    arr[:] = items if not any(isinstance(i, np.ndarray) for i in items) else [None] * len(items)
    for i, item in enumerate(items):
        arr[i] = item
    return arr


RNG = np.random.default_rng(14)
LISTS = [[3, 1, 4, 1, 5], [9, 2], [], [6, 5, 3], [5]]
FLOAT_ARRAYS = [RNG.normal(size=n).astype(np.float32) for n in (4, 1, 6, 2)]
FRAMES = [RNG.normal(size=(n, 3)).astype(np.float32) for n in (5, 2, 7, 1, 3)]
TOKENS = [RNG.integers(1, 50, size=n).astype(np.int32) for n in (8, 3, 5, 1, 6, 2)]
NESTED = [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0]], [[7.0, 8.0], [9.0, 1.0], [2.0, 3.0]]]
MIXED = [[1, 2, 3], [2.5], [4, 5]]  # int and float lists: float64, as numpy promotes

CASES = {
    "lists": (LISTS, np.int64, ()),
    "float-arrays": (FLOAT_ARRAYS, np.float32, ()),
    "frames": (FRAMES, np.float32, (3,)),
    "tokens": (TOKENS, np.int32, ()),
    "nested-lists": (NESTED, np.float64, (2,)),
    "mixed-int-float": (MIXED, np.float64, ()),
}


def save_npy(tmp_path: Path, items: list, name: str = "seqs.npy") -> Path:
    path = tmp_path / name
    np.save(path, objects(items), allow_pickle=True)
    return path


def boom(*a, **k):
    raise AssertionError("unpickled without --allow-pickle")


# -- never without the flag ------------------------------------------------------------------------
@pytest.mark.parametrize("container", ["npy", "npz", "npz-compressed"])
def test_without_allow_pickle_nothing_is_unpickled(tmp_path, monkeypatch, container):
    if container == "npy":
        path, x = save_npy(tmp_path, LISTS), "seqs.npy"
    else:
        path = tmp_path / "data.npz"
        save = np.savez if container == "npz" else np.savez_compressed
        save(path, x=objects(LISTS), y=np.arange(len(LISTS)))
        x = "data.npz:x"
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    report = dsdoctor.check(str(path))
    (f,) = report.by_name("unsafe-pickle")
    assert f.severity.value == "error" and "not read" in f.message and x in f.message
    assert not report.by_name("ragged-sequences")
    r = cli("pad", f"{tmp_path / x}", "-o", tmp_path / "out.npy")
    assert_clean_error(r, "--allow-pickle")
    assert not (tmp_path / "out.npy").exists()


# -- read as ragged sequences ----------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("container", ["npy", "npz", "npz-compressed"])
def test_object_arrays_read_as_the_sequences_they_hold(tmp_path, case, container):
    items, dtype, inner = CASES[case]
    if container == "npy":
        src = str(save_npy(tmp_path, items))
    else:
        save = np.savez if container == "npz" else np.savez_compressed
        save(tmp_path / "d.npz", seqs=objects(items), labels=np.arange(len(items)))
        src = f"{tmp_path / 'd.npz'}:seqs"
    h = dsdoctor.load(src, allow_pickle=True)
    assert h.ragged and h.pickled and not h.skip
    assert h.shape == (len(items), None, *inner) and h.dtype == np.dtype(dtype)
    data = h.read()
    assert isinstance(data, Ragged) and data.values.dtype == np.dtype(dtype)
    assert data.lengths.tolist() == [len(s) for s in items]
    for i, s in enumerate(items):
        np.testing.assert_array_equal(data[i], np.asarray(s, dtype=dtype).reshape(-1, *inner))
    # chunked reads give the same sequences as the whole read
    chunks = [c for c in h.chunks(8) if isinstance(c, Ragged)]
    assert len(chunks) > 1
    assert np.concatenate([c.lengths for c in chunks]).tolist() == data.lengths.tolist()
    np.testing.assert_array_equal(np.concatenate([c.window() for c in chunks]), data.values)


def test_check_finds_ragged_and_empty_sequences_and_warns_it_unpickled(tmp_path):
    path = save_npy(tmp_path, LISTS)
    r = cli("check", "--json", "--allow-pickle", path)
    assert r.code == 0, r.stderr  # warnings only
    report = r.json()
    by = {f["name"]: f for f in report["findings"]}
    assert {"ragged-sequences", "empty-sequences", "unsafe-pickle"} <= set(by)
    assert by["ragged-sequences"]["evidence"]["count"] == 5
    assert (
        by["ragged-sequences"]["evidence"]["min"],
        by["ragged-sequences"]["evidence"]["max"],
    ) == (0, 5)
    assert by["empty-sequences"]["evidence"]["empty"] == 1
    pickled = by["unsafe-pickle"]
    assert pickled["severity"] == "warning" and pickled["evidence"]["read_as"] == "sequences"
    assert "5 variable-length sequences of int64" in pickled["message"]
    # the CLI's JSON is the API's report
    assert report == dsdoctor.check(str(path), allow_pickle=True).to_dict()
    # the lengths statistics inspect shows
    stats = cli("inspect", "--json", "--stats", "--allow-pickle", path).json()
    assert "ragged" in json.dumps(stats)


def test_check_with_a_token_id_collision_and_stats(tmp_path):
    """Token ids with a real 0: mask-value-collision, as for any ragged source."""
    path = save_npy(tmp_path, [[5, 0, 7], [1, 2]])
    names = {f.name for f in dsdoctor.check(str(path), allow_pickle=True).findings}
    assert {"ragged-sequences", "mask-value-collision", "unsafe-pickle"} <= names


def test_excess_padding_on_an_object_array(tmp_path):
    path = save_npy(tmp_path, [[1, 2]] * 50 + [list(range(1, 101))])
    assert dsdoctor.check(str(path), allow_pickle=True).by_name("excess-padding")


def test_every_fix_carries_allow_pickle_and_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_npy(tmp_path, LISTS)
    report = cli("check", "--json", "--allow-pickle", "seqs.npy").json()
    commands = list(dict.fromkeys(fx["command"] for f in report["findings"] for fx in f["fixes"]))
    assert commands and all("--allow-pickle" in c for c in commands), commands
    for c in commands:
        r = cli(*shlex.split(c)[1:])
        assert r.code == 0, (c, r.stderr)
        assert "unpickled because of --allow-pickle" in r.stderr
    padded = np.load("seqs.padded.npy", allow_pickle=False)
    assert padded.shape == (5, 5)


def test_repair_applies_the_lossless_pad(tmp_path):
    path = save_npy(tmp_path, LISTS)
    outcome = dsdoctor.repair(str(path), outdir=str(tmp_path / "fixed"), allow_pickle=True)
    applied = [a["command"] for a in outcome.applied]
    assert any(c.startswith("dsdoctor pad") and "--allow-pickle" in c for c in applied), applied


def test_pad_writes_what_loads_without_pickle(tmp_path):
    path = save_npy(tmp_path, LISTS)
    out = tmp_path / "p.npy"
    r = cli("pad", path, "--allow-pickle", "--padding", "post", "--json", "-o", out)
    assert r.code == 0, r.stderr
    assert any("unpickled because of --allow-pickle" in w for w in r.json()["warnings"])
    x = np.load(out, allow_pickle=False)
    lengths = np.load(tmp_path / "p.lengths.npy", allow_pickle=False)
    mask = np.load(tmp_path / "p.mask.npy", allow_pickle=False)
    assert lengths.tolist() == [len(s) for s in LISTS]
    for i, s in enumerate(LISTS):
        assert x[i, : len(s)].tolist() == s and not x[i, len(s) :].any()
        assert mask[i].tolist() == [True] * len(s) + [False] * (x.shape[1] - len(s))


def test_bucket_on_an_object_array(tmp_path):
    seqs = [list(range(1, n + 1)) for n in (1, 9, 2, 8, 3, 7, 4, 6)]
    path = save_npy(tmp_path, seqs)
    r = cli("bucket", path, "--allow-pickle", "--buckets", "2", "--json", "-o", tmp_path / "b")
    assert r.code == 0, r.stderr
    got: dict[int, list[int]] = {}
    for b in r.json()["details"]["buckets"]:
        with np.load(tmp_path / "b" / b["file"], allow_pickle=False) as z:
            assert int(z["lengths"].max()) == b["maxlen"] == z["data"].shape[1]
            for row, keep, i in zip(z["data"], z["mask"], z["index"], strict=True):
                got[int(i)] = row[keep].tolist()
    assert got == dict(enumerate(seqs))


def test_npz_object_member_is_checked_beside_its_targets(tmp_path):
    np.savez(tmp_path / "xy.npz", x=objects(FRAMES), y=np.arange(len(FRAMES) - 1))
    report = dsdoctor.check(str(tmp_path / "xy.npz"), allow_pickle=True)
    names = {f.name for f in report.findings}
    assert {"ragged-sequences", "sample-count-mismatch", "unsafe-pickle"} <= names, names


# -- what is not sequences of numbers ---------------------------------------------------------------
BAD = {
    "none": (objects([[1, 2], [3], None]), "element 2 is None where element 0 is a sequence"),
    "scalar": (objects([[1, 2], 5, [3]]), "element 1 is an int (5) where element 0 is a sequence"),
    "string": (objects([[1.0], "abc"]), "element 1 is a str ('abc')"),
    "dict": (objects([[1], {"a": 1}]), "element 1 is a dict"),
    "text-inside": (objects([[1, 2], [3, "4"]]), "element 1 (a list ([3, '4'])) holds text"),
    "none-inside": (objects([[1.0, 2.0], [3.0, None]]), "element 1 (a list ([3.0, None])) holds None"),
    "timestep-shape": (objects([np.ones((2, 3)), np.ones((4, 3)), np.ones((1, 4))]),
                       "element 2 has timesteps of shape (4,) but element 0 has (3,)"),
    "uneven-rows": (objects([[[1, 2], [3]], [[1, 2]]]), "element 0"),
    "zero-d": (objects([np.array(5), [1]]), "element 0 is an array (array(5)), a single value"),
    "one-object": (np.array({"a": 1}), "it holds one Python object, a dict"),
    "two-d": (np.array([[[1], [2, 3]]], dtype=object), "2-D object array of sequences"),
    "big-int": (np.array([1, 2**70], dtype=object), "element 1 is an int (1180591620717411303424)"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_elements_are_named_never_a_traceback(tmp_path, case):
    arr, words = BAD[case]
    path = tmp_path / "bad.npy"
    np.save(path, arr, allow_pickle=True)
    assert_clean_error(cli("pad", path, "--allow-pickle", "-o", tmp_path / "o.npy"), words)
    assert not (tmp_path / "o.npy").exists()
    assert_clean_error(
        cli("bucket", path, "--allow-pickle", "--buckets", "2", "-o", tmp_path / "b"), words
    )
    r = cli("check", "--json", "--allow-pickle", path)
    assert r.code == 1, r.stderr
    (f,) = [f for f in r.json()["findings"] if f["name"] == "unsafe-pickle"]
    assert f["severity"] == "error" and words in f["message"] and "not read" in f["message"]
    r = cli("inspect", "--allow-pickle", path)
    assert r.code == 0 and words in r.stdout


def test_a_bad_npz_member_leaves_the_others_checked(tmp_path):
    np.savez(tmp_path / "d.npz", x=objects([[1, 2], None]), y=np.array([1.0, np.inf]))
    report = dsdoctor.check(str(tmp_path / "d.npz"), allow_pickle=True)
    assert report.by_name("unsafe-pickle")[0].severity.value == "error"
    assert report.by_name("non-finite-values")


def test_a_pickle_that_fails_to_load_is_a_finding(tmp_path, monkeypatch):
    """An object array of a class from a module the reader cannot import."""
    (tmp_path / "gone_module_14.py").write_text("class Gone:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import gone_module_14

    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = [1, 2], gone_module_14.Gone()
    path = tmp_path / "gone.npy"
    np.save(path, arr, allow_pickle=True)
    monkeypatch.delitem(sys.modules, "gone_module_14")
    (tmp_path / "gone_module_14.py").unlink()
    assert_clean_error(cli("pad", path, "--allow-pickle", "-o", tmp_path / "o.npy"),
                       "cannot be unpickled", "gone_module_14")  # fmt: skip
    (f,) = dsdoctor.check(str(path), allow_pickle=True).by_name("unsafe-pickle")
    assert f.severity.value == "error" and "cannot be unpickled" in f.message


def test_numbers_and_text_in_object_arrays(tmp_path):
    np.save(tmp_path / "n.npy", np.array([[1, 2.5], [True, 4]], dtype=object), allow_pickle=True)
    h = dsdoctor.load(str(tmp_path / "n.npy"), allow_pickle=True)
    assert not h.ragged and h.shape == (2, 2) and h.dtype == np.float64
    np.testing.assert_array_equal(h.read(), [[1.0, 2.5], [1.0, 4.0]])
    np.save(tmp_path / "t.npy", np.array(["cat", "dog", None], dtype=object), allow_pickle=True)
    report = dsdoctor.check(str(tmp_path / "t.npy"), allow_pickle=True)
    assert report.by_name("string-labels") and report.by_name("unsafe-pickle")


# -- the conversion, as a property -----------------------------------------------------------------
sequence = st.one_of(
    st.lists(st.integers(-(2**40), 2**40), max_size=6),
    st.lists(st.floats(-1e6, 1e6, width=32), max_size=6),
    st.lists(st.integers(0, 300), max_size=6).map(lambda s: np.array(s, dtype=np.int16)),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(sequence, min_size=1, max_size=12))
def test_conversion_keeps_every_sequence_and_promotes_as_numpy(seqs):
    data = from_objects(objects(seqs))
    assert isinstance(data, Ragged)
    full = [np.asarray(s) for s in seqs if len(s)]
    if full:
        assert data.dtype == np.result_type(*full)
    assert data.lengths.tolist() == [len(s) for s in seqs]
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(data[i], np.asarray(s, dtype=data.dtype))


# -- the frameworks as oracles ---------------------------------------------------------------------
def padded(tmp_path: Path, items: list, *extra: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    path = save_npy(tmp_path, items)
    out = tmp_path / "p.npy"
    r = cli("pad", path, "--allow-pickle", "--padding", "post", *extra, "-o", out)
    assert r.code == 0, r.stderr
    return (np.load(out, allow_pickle=False), np.load(tmp_path / "p.mask.npy", allow_pickle=False),
            np.load(tmp_path / "p.lengths.npy", allow_pickle=False))  # fmt: skip


def test_pytorch_gru_trains_one_step_on_the_padded_frames(tmp_path):
    torch = pytest.importorskip("torch")
    x, _, lengths = padded(tmp_path, FRAMES)
    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 4, batch_first=True)
    xs, ls = torch.from_numpy(x), torch.from_numpy(lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xs, ls, batch_first=True, enforce_sorted=False)
    _, h = gru(packed)
    for i, f in enumerate(FRAMES):  # each sequence's last state is the one it has alone
        _, alone = gru(torch.from_numpy(f)[None])
        torch.testing.assert_close(h[0, i], alone[0, 0])
    opt = torch.optim.SGD(gru.parameters(), lr=0.1)
    loss = h.pow(2).mean()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)


def test_pytorch_embedding_and_gru_train_on_padded_token_ids(tmp_path):
    torch = pytest.importorskip("torch")
    x, _, lengths = padded(tmp_path, TOKENS)
    torch.manual_seed(0)
    emb, gru = torch.nn.Embedding(50, 3, padding_idx=0), torch.nn.GRU(3, 4, batch_first=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        emb(torch.from_numpy(x).long()), torch.from_numpy(lengths), batch_first=True,
        enforce_sorted=False)  # fmt: skip
    _, h = gru(packed)
    _, alone = gru(emb(torch.from_numpy(TOKENS[0]).long())[None])
    torch.testing.assert_close(h[0, 0], alone[0, 0])
    h.pow(2).mean().backward()
    assert emb.weight.grad is not None


KERAS_STEP = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras

    x = np.load(sys.argv[1]); mask = np.load(sys.argv[2]); lengths = np.load(sys.argv[3])
    keras.utils.set_random_seed(0)
    seq = keras.Input(shape=x.shape[1:]); m = keras.Input(shape=mask.shape[1:], dtype="bool")
    state = keras.layers.GRU(4)(seq, mask=m)
    model = keras.Model([seq, m], keras.layers.Dense(1)(state))
    model.compile(optimizer="sgd", loss="mse")
    loss = model.train_on_batch([x, mask], np.zeros((len(x), 1), dtype="float32"))
    assert np.isfinite(float(loss[0] if isinstance(loss, list) else loss)), loss
    # the mask makes the padding invisible: each sequence alone gives the same output
    batch = model.predict([x, mask], verbose=0)
    for i, n in enumerate(lengths):
        alone = model.predict([x[i : i + 1, :n], mask[i : i + 1, :n]], verbose=0)
        np.testing.assert_allclose(batch[i], alone[0], rtol=1e-4, atol=1e-5)
    print("trained")
    """
)


def test_keras_gru_trains_one_step_with_the_mask(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("keras")
    padded(tmp_path, FRAMES)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    files = [tmp_path / f"p{s}.npy" for s in ("", ".mask", ".lengths")]
    p = subprocess.run([sys.executable, "-c", KERAS_STEP, *map(str, files)], capture_output=True,
                       text=True, env=env, timeout=300)  # fmt: skip
    assert p.returncode == 0 and "trained" in p.stdout, p.stderr[-2000:]


# -- the real-world corpus -------------------------------------------------------------------------
CORPUS = Path(
    os.environ.get("DSDOCTOR_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus"
)
#: Object arrays of the corpus safe to unpickle (their pickles name only numpy and builtins;
#: ``dns_exfiltration.npy`` is never loaded), and what --allow-pickle reads of each.
CORPUS_OBJECTS = {
    "npy/ragged-array.npy": "sequences",
    "npy/ragged-array-mixed.npy": "element 0 (a list ([1, '2', 3, '4'])) holds text",
    "npy/object_array.npy": "numbers",
    "npy/pickle.npy": "element (0, 2) is a str ('number')",
    "npy/py3-objarr.npy": "element 1 is a type",
    "npy/object_arrays.npz": "numbers",
}


@pytest.mark.parametrize("name", CORPUS_OBJECTS)
def test_corpus_object_arrays(name):
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"no corpus file {path}")
    without = dsdoctor.check(str(path))
    assert all(f.severity.value == "error" for f in without.by_name("unsafe-pickle"))
    assert without.by_name("unsafe-pickle")
    report = dsdoctor.check(str(path), allow_pickle=True)
    found = report.by_name("unsafe-pickle")
    expected = CORPUS_OBJECTS[name]
    if expected in ("sequences", "numbers"):
        assert found and all(f.evidence["read_as"] == expected for f in found)
        assert all(f.severity.value == "warning" for f in found)
    else:
        assert [f.severity.value for f in found] == ["error"] and expected in found[0].message
    if name == "npy/ragged-array.npy":
        data = dsdoctor.load(str(path), allow_pickle=True).read()
        assert [data[i].tolist() for i in range(3)] == [[1, 2, 3, 4], [5, 6, 7], [8, 9]]
        assert report.by_name("ragged-sequences")


def test_in_memory_object_arrays_read_as_a_loaded_file_is():
    """``dsdoctor.check(x=np.array(seqs, dtype=object))``: nothing is unpickled there, and the
    array reads as the unpickled file does."""
    report = dsdoctor.check(x=objects(LISTS))
    assert {"ragged-sequences", "empty-sequences"} <= {f.name for f in report.findings}
    assert not report.by_name("unsafe-pickle")
    assert dsdoctor.pad(objects(LISTS), padding="post").lengths.tolist() == [5, 2, 0, 3, 1]
    with pytest.raises(
        dsdoctor.SourceError, match="element 1 is None where element 0 is a sequence"
    ):
        dsdoctor.check(x=objects([[1, 2], None]))


def test_shards_and_stdin_of_object_arrays(tmp_path):
    (tmp_path / "s").mkdir()
    save_npy(tmp_path / "s", LISTS[:3], "a.npy")
    save_npy(tmp_path / "s", LISTS[3:], "b.npy")
    report = cli("check", "--json", "--allow-pickle", "--jobs", "2", f"{tmp_path}/s/*.npy").json()
    by = {f["name"]: f for f in report["findings"]}
    assert by["ragged-sequences"]["evidence"]["count"] == 5 and "unsafe-pickle" in by
    assert all("--allow-pickle" in fx["command"] for fx in by["ragged-sequences"]["fixes"])
    r = run("check", "--json", "--allow-pickle", "-", stdin=save_npy(tmp_path, LISTS).read_bytes())
    assert r.code == 0 and {"ragged-sequences", "unsafe-pickle"} <= {
        f["name"] for f in r.json()["findings"]
    }


def test_plan_reads_an_object_array_only_with_allow_pickle(tmp_path):
    path = save_npy(tmp_path, LISTS)
    assert_clean_error(cli("plan", path, "--batch-size", "2"), "--allow-pickle")
    r = cli("plan", path, "--batch-size", "2", "--allow-pickle", "--json")
    assert r.code == 0 and r.json()["samples"] == 5
    np.save(tmp_path / "bad.npy", objects([[1], None]), allow_pickle=True)
    assert_clean_error(
        cli("plan", tmp_path / "bad.npy", "--batch-size", "2", "--allow-pickle"),
        "element 1 is None",
    )


def test_a_multiline_element_is_named_on_one_line(tmp_path):
    np.save(
        tmp_path / "t.npy",
        objects([np.ones((2, 2)), np.array([["a", "b"], ["c", "d"]])]),
        allow_pickle=True,
    )
    assert_clean_error(cli("pad", tmp_path / "t.npy", "--allow-pickle", "-o", tmp_path / "o.npy"),
                       "element 1 (an array (array([['a', 'b'], ['c', 'd']], dtype...)) holds text")  # fmt: skip
