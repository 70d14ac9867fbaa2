"""Token ids: ``shift`` (ids + K so 0 is free for padding, the new vocabulary size recorded),
``--vocab-size`` with DS306 token-id-out-of-range, DS302's fixes on token ids (shift first,
never -1), and ``mask`` reporting the collision exactly as ``check`` does. The frameworks train
one step on what ``shift`` writes (PyTorch in process, Keras on JAX and torch in subprocesses)
and fail as the findings say on the data it repairs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dsdoctor
from dsdoctor.errors import DsdoctorError, RepairError, UsageError
from dsdoctor.sinks.provenance import read_provenance

from .conftest import assert_clean_error, cli

#: Tokenised text as a tokenizer leaves it: id 0 is a real token (here "the"), lengths differ.
SEQS = [[5, 0, 7, 2], [3, 9], [0, 4, 4, 8, 1], [6], [2, 0]]


def tokens_parquet(tmp_path, seqs=SEQS, name="tokens.parquet"):
    """A table of token lists and labels, as pandas writes it (list<int32>)."""
    df = pd.DataFrame(
        {"tokens": [np.array(s, dtype=np.int32) for s in seqs], "label": np.arange(len(seqs)) % 2}
    )
    p = tmp_path / name
    df.to_parquet(p)
    assert pq.read_schema(p).field("tokens").type == pa.list_(pa.int32())
    return p


def findings(*args) -> list[dict]:
    r = cli("check", "--json", *args)
    assert r.code in (0, 1), (r.code, r.stdout, r.stderr)
    return r.json()["findings"]


def shifted_result(*args) -> dict:
    r = cli("shift", *map(str, args), "--json")
    assert r.code == 0, (r.stdout, r.stderr)
    return r.json()


# -- shift: ragged sources ---------------------------------------------------------------------
def test_shift_parquet_list_column_keeps_the_table(tmp_path):
    src = tokens_parquet(tmp_path)
    out = tmp_path / "tokens.shifted.parquet"
    r = shifted_result(f"{src}:tokens", "-o", out)
    d = r["details"]
    assert (d["by"], d["min_id"], d["max_id"], d["ids"], d["vocab_size"]) == (1, 0, 9, 14, 11)
    back = pd.read_parquet(out)
    assert list(back.columns) == ["tokens", "label"]
    assert [list(t) for t in back["tokens"]] == [[i + 1 for i in s] for s in SEQS]
    assert back["label"].tolist() == [0, 1, 0, 1, 0]
    assert pq.read_schema(out).field("tokens").type == pa.list_(pa.int32())
    prov = read_provenance(str(out))
    assert prov["operation"] == "shift" and prov["options"]["new_vocab_size"] == 11
    text = cli("shift", f"{src}:tokens", "-o", tmp_path / "again.parquet").stdout
    assert "new vocabulary size 11" in text and "Embedding(input_dim=11)" in text


def test_shift_keeps_null_lists_null_and_refuses_null_ids(tmp_path):
    p = tmp_path / "nulls.parquet"
    pq.write_table(pa.table({"tokens": pa.array([[1, 2], None, [0]], pa.list_(pa.int64()))}), p)
    out = tmp_path / "s.parquet"
    shifted_result(f"{p}:tokens", "-o", out)
    assert pq.read_table(out).column("tokens").to_pylist() == [[2, 3], None, [1]]
    bad = tmp_path / "holes.parquet"
    pq.write_table(pa.table({"tokens": pa.array([[1, None], [0]], pa.list_(pa.int32()))}), bad)
    r = cli("shift", f"{bad}:tokens", "-o", tmp_path / "x.parquet")
    assert_clean_error(r, "1 null (missing) ids")
    assert not (tmp_path / "x.parquet").exists()


def test_shift_npz_and_hdf5_ragged_read_back_as_sequences(tmp_path):
    values = np.array([s for seq in SEQS for s in seq], dtype=np.int16)
    np.savez(tmp_path / "r.npz", ids=values, ids_lengths=np.array([len(s) for s in SEQS]))
    with h5py.File(tmp_path / "v.h5", "w") as f:
        d = f.create_dataset("ids", (len(SEQS),), dtype=h5py.vlen_dtype(np.int16))
        for i, s in enumerate(SEQS):
            d[i] = s
    for src in (f"{tmp_path / 'r.npz'}:ids", f"{tmp_path / 'v.h5'}:/ids"):
        for ext in ("npz", "parquet", "h5"):
            out = tmp_path / f"out.{ext}"
            r = shifted_result(src, "-o", out, "--force")
            assert r["details"]["vocab_size"] == 11 and r["dtype"] == "int16"
            back = dsdoctor.load(f"{out}:{'/' if ext == 'h5' else ''}data").read()
            assert isinstance(back, dsdoctor.Ragged)
            assert [back[i].tolist() for i in range(len(back))] == [
                [i + 1 for i in s] for s in SEQS
            ]


def test_ragged_output_must_hold_sequences(tmp_path):
    src = tokens_parquet(tmp_path)
    r = cli("shift", f"{src}:tokens", "-o", tmp_path / "x.npy")
    assert_clean_error(r, "holds variable-length sequences", ".parquet, .npz, .h5 or .zarr")
    assert not (tmp_path / "x.npy").exists()
    # sequences of timesteps of several ids: a variable-length HDF5 dataset holds single ids
    values = np.arange(1, 13, dtype=np.int32).reshape(6, 2)
    np.savez(tmp_path / "v.npz", ids=values, ids_lengths=np.array([4, 2]))
    r = cli("shift", f"{tmp_path / 'v.npz'}:ids", "-o", tmp_path / "x.h5")
    assert_clean_error(r, "sequences of single ids", ".parquet, .npz or .zarr")
    assert not (tmp_path / "x.h5").exists()


def test_shift_to_hdf5_writes_one_variable_length_dataset_in_chunks(tmp_path):
    """Ragged ids to ``x.h5:/name``: one vlen dataset h5py reads as the shifted sequences (empty
    ones and equal lengths included), the provenance as its attributes, streamed in chunks."""
    rng = np.random.default_rng(1)
    seqs = [rng.integers(0, 500, rng.integers(0, 30)).astype(np.int32) for _ in range(400)]
    seqs[:3] = [np.array([4, 5], np.int32)] * 3
    src = tokens_parquet(tmp_path, seqs)
    out = tmp_path / "s.h5"
    r = shifted_result(f"{src}:tokens", "--chunk-size", "1KiB", "-o", f"{out}:/ids/shifted")
    assert r["details"]["vocab_size"] == int(max(s.max() for s in seqs if len(s))) + 2
    with h5py.File(out) as f:
        d = f["/ids/shifted"]
        assert h5py.check_vlen_dtype(d.dtype) == np.dtype(np.int32) and d.shape == (400,)
        assert [x.tolist() for x in d[:]] == [(s + 1).tolist() for s in seqs]
        assert (
            json.loads(d.attrs["dsdoctor_options"])["new_vocab_size"] == r["details"]["vocab_size"]
        )
    assert read_provenance(f"{out}:/ids/shifted")["operation"] == "shift"
    again = cli("check", "--json", f"{out}:/ids/shifted")
    assert again.code in (0, 1)
    (array,) = again.json()["arrays"].values()
    assert array["ragged"] and array["stats"]["lengths"]["count"] == 400
    # never over an existing file without --force
    r = cli("shift", f"{src}:tokens", "-o", out)
    assert_clean_error(r, "--force")


# -- shift: padded data ------------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["npy", "npz", "h5", "parquet"])
def test_shift_padded_data_keeps_padding_at_zero_with_pads_mask(tmp_path, ext):
    src = tokens_parquet(tmp_path)
    padded = tmp_path / f"p.{ext}"
    assert cli("pad", f"{src}:tokens", "-o", padded).code == 0
    data_src = {"npz": f"{padded}:data", "parquet": f"{padded}:data", "h5": f"{padded}:/data"}
    source = data_src.get(ext, str(padded))
    out = tmp_path / "s.npz"
    r = shifted_result(source, "-o", out)
    assert r["details"]["mask_found"] is True and r["details"]["pad_id"] == 0
    before = dsdoctor.load(source).read()
    with np.load(out) as z:
        assert z.files == ["data", "mask", "provenance"]
        data, mask = z["data"], z["mask"]
    assert (data[~mask] == 0).all() and (data[mask] == before[mask] + 1).all()
    assert r["details"]["vocab_size"] == 11


def test_shift_padding_minus_one_becomes_zero_with_an_explicit_mask(tmp_path):
    """pad --value -1 (the old advice) is repaired: real ids + 1, the -1 padding → 0."""
    src = tokens_parquet(tmp_path)
    assert cli("pad", f"{src}:tokens", "--value", "-1", "-o", tmp_path / "p.npy").code == 0
    np.save(tmp_path / "m.npy", np.load(tmp_path / "p.mask.npy"))
    out = tmp_path / "s.npy"
    r = shifted_result(tmp_path / "p.npy", "--mask", tmp_path / "m.npy", "-o", out)
    assert r["details"]["mask"] == str(tmp_path / "m.npy") and not r["details"]["mask_found"]
    data, mask = np.load(out), np.load(tmp_path / "s.mask.npy")
    assert data.min() == 0 and (data[~mask] == 0).all() and data[mask].min() == 1


@pytest.mark.parametrize("side", ["pre", "post"])
def test_shift_padded_data_by_its_lengths_and_side(tmp_path, side):
    """pad --no-mask leaves the lengths: with the side it was padded on they tell the padding."""
    src = tokens_parquet(tmp_path)
    assert cli("pad", f"{src}:tokens", "--padding", side, "--value", "-1", "--no-mask",
               "-o", tmp_path / "p.npy").code == 0  # fmt: skip
    padded, lengths = np.load(tmp_path / "p.npy"), np.load(tmp_path / "p.lengths.npy")
    r = shifted_result(tmp_path / "p.npy", "--lengths", tmp_path / "p.lengths.npy",
                       "--padding", side, "-o", tmp_path / "s.npz")  # fmt: skip
    assert r["details"]["lengths"] == str(tmp_path / "p.lengths.npy")
    with np.load(tmp_path / "s.npz") as z:
        data = z["data"]
        assert (z["lengths"] == lengths).all()
    assert (data == np.where(padded == -1, 0, padded + 1)).all()
    memory = dsdoctor.shift(padded, lengths=lengths, padding=side)
    assert (memory.data == data).all() and memory.vocab_size == r["details"]["vocab_size"]
    other = "post" if side == "pre" else "pre"
    wrong = cli("shift", tmp_path / "p.npy", "--lengths", tmp_path / "p.lengths.npy",
                "--padding", other, "-o", tmp_path / "w.npy")  # fmt: skip
    assert_clean_error(wrong, f"is the data {side}-padded (--padding {side})?")
    with pytest.raises(RepairError, match=f"--padding {side}"):
        dsdoctor.shift(padded, lengths=lengths, padding=other)


def test_shift_without_a_mask_shifts_everything_and_says_so(tmp_path):
    np.save(tmp_path / "ids.npy", np.array([[1, 2], [0, 3]], dtype=np.int64))
    r = cli("shift", tmp_path / "ids.npy", "-o", tmp_path / "s.npy")
    assert r.code == 0 and "no mask: every position" in r.stderr
    assert np.load(tmp_path / "s.npy").tolist() == [[2, 3], [1, 4]]
    # .npy has no room for metadata: the provenance, new vocabulary size included, is beside it
    assert read_provenance(str(tmp_path / "s.npy"))["options"]["new_vocab_size"] == 5
    assert (tmp_path / "s.dsdoctor.json").is_file()


def test_shift_by_k_and_a_given_vocabulary(tmp_path):
    src = tokens_parquet(tmp_path)
    r = shifted_result(f"{src}:tokens", "--by", "2", "--vocab-size", "100", "-o",
                       tmp_path / "s.parquet")  # fmt: skip
    assert r["details"]["vocab_size"] == 102 and r["details"]["vocab_size_before"] == 100
    assert pd.read_parquet(tmp_path / "s.parquet")["tokens"][0].tolist() == [7, 2, 9, 4]
    r = cli("shift", f"{src}:tokens", "--vocab-size", "9", "-o", tmp_path / "t.parquet")
    assert_clean_error(r, "ids up to 9, but --vocab-size is 9")


def test_shift_widens_a_dtype_too_small_and_refuses_past_64_bits(tmp_path):
    np.save(tmp_path / "u8.npy", np.array([[0, 255], [3, 4]], dtype=np.uint8))
    r = cli("shift", tmp_path / "u8.npy", "-o", tmp_path / "s.npy")
    assert r.code == 0 and "uint8 cannot hold id 256: the output is uint16" in r.stderr
    s = np.load(tmp_path / "s.npy")
    assert s.dtype == np.uint16 and s.tolist() == [[1, 256], [4, 5]]
    np.save(tmp_path / "i64.npy", np.array([[np.iinfo(np.int64).max]]))
    assert_clean_error(cli("shift", tmp_path / "i64.npy", "-o", tmp_path / "t.npy"),
                       "more than any 64-bit integer holds")  # fmt: skip
    assert not (tmp_path / "t.npy").exists()


REFUSALS = [
    (np.ones((2, 3), np.float32), {}, "holds float32 values, not integer token ids"),
    (np.ones((2, 3), bool), {}, "holds booleans, not integer token ids"),
    (np.array([[1, -1], [2, 3]]), {}, "1 negative ids (the smallest is -1)"),
    (np.array([[1, 2]]), {"by": 0}, "--by"),
    (np.array([[1, 20]]), {"vocab_size": 5}, "ids up to 20, but --vocab-size is 5"),
]


@pytest.mark.parametrize(("data", "options", "needle"), REFUSALS)
def test_in_memory_and_cli_refuse_alike(tmp_path, data, options, needle):
    with pytest.raises(DsdoctorError) as memory:
        dsdoctor.shift(data, **options)
    assert needle in str(memory.value)
    np.save(tmp_path / "d.npy", data)
    words = [w for k, v in options.items() for w in (f"--{k.replace('_', '-')}", str(v))]
    r = cli("shift", tmp_path / "d.npy", *words, "-o", tmp_path / "o.npy")
    assert_clean_error(r, needle)
    assert not (tmp_path / "o.npy").exists()


def test_mask_refusals(tmp_path):
    src = tokens_parquet(tmp_path)
    np.save(tmp_path / "m.npy", np.ones((5, 2), bool))
    r = cli("shift", f"{src}:tokens", "--mask", tmp_path / "m.npy", "-o", tmp_path / "o.parquet")
    assert_clean_error(r, "--mask is for padded (dense) data")
    np.save(tmp_path / "d.npy", np.ones((5, 3), np.int32))
    r = cli("shift", tmp_path / "d.npy", "--mask", tmp_path / "m.npy", "-o", tmp_path / "o.npy")
    assert_clean_error(r, "a boolean array of shape (5, 3)")
    with pytest.raises(UsageError):
        dsdoctor.shift([[1, 2], [3]], mask=np.ones((2, 2), bool))
    np.save(tmp_path / "n.npy", np.ones(4, np.int64))
    r = cli("shift", tmp_path / "d.npy", "--lengths", tmp_path / "n.npy", "-o", tmp_path / "o.npy")
    assert_clean_error(r, "integers of shape (5,), one per sequence")
    r = cli("shift", tmp_path / "d.npy", "--lengths", tmp_path / "n.npy", "--mask",
            tmp_path / "m.npy", "-o", tmp_path / "o.npy")  # fmt: skip
    assert_clean_error(r, "give --mask or --lengths, not both")
    np.save(tmp_path / "long.npy", np.full(5, 4))
    r = cli(
        "shift", tmp_path / "d.npy", "--lengths", tmp_path / "long.npy", "-o", tmp_path / "o.npy"
    )
    assert_clean_error(r, "lengths from 4 to 4, but the data has 3 timesteps")


def test_shift_never_overwrites_without_force(tmp_path):
    np.save(tmp_path / "d.npy", np.ones((2, 3), np.int32))
    (tmp_path / "o.npy").write_bytes(b"keep")
    assert_clean_error(cli("shift", tmp_path / "d.npy", "-o", tmp_path / "o.npy"), "--force")
    assert (tmp_path / "o.npy").read_bytes() == b"keep"
    assert cli("shift", tmp_path / "d.npy", "-o", tmp_path / "o.npy", "--force").code == 0
    assert np.load(tmp_path / "o.npy").tolist() == [[2, 2, 2]] * 2


def test_small_chunks_give_the_same_output(tmp_path):
    """Streamed in chunks (here ~1 KiB of rows, so many chunks and row groups): the same ids."""
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 500, rng.integers(1, 40)).astype(np.int32) for _ in range(300)]
    src = tokens_parquet(tmp_path, seqs)
    whole = shifted_result(f"{src}:tokens", "-o", tmp_path / "a.parquet")
    small = shifted_result(f"{src}:tokens", "--chunk-size", "1KiB", "-o", tmp_path / "b.parquet")
    assert whole["details"] == small["details"]
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    assert [x.tolist() for x in a["tokens"]] == [x.tolist() for x in b["tokens"]]
    assert pq.ParquetFile(tmp_path / "b.parquet").num_row_groups > 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 30000), min_size=0, max_size=8), min_size=1, max_size=12),
    st.integers(1, 5),
)
def test_shift_then_unshift_gives_back_the_ids(seqs, k):
    if not any(seqs):
        return
    r = dsdoctor.shift([np.array(s, dtype=np.int16) for s in seqs] + [np.zeros(0, np.int16)], by=k)
    back = r.data
    if isinstance(back, dsdoctor.Ragged):
        got = [(back[i] - k).tolist() for i in range(len(seqs))]
    else:
        got = (back - k).tolist()[: len(seqs)]
    assert got == seqs
    assert r.vocab_size == max(max(s) for s in seqs if s) + 1 + k
    assert (back.values if isinstance(back, dsdoctor.Ragged) else back).min() >= k


# -- DS306 token-id-out-of-range ------------------------------------------------------------------
def test_ids_at_or_above_the_vocabulary_are_an_error(tmp_path):
    src = tokens_parquet(tmp_path)
    (f,) = [f for f in findings(f"{src}:tokens", "--vocab-size", "8") if f["code"] == "DS306"]
    assert f["severity"] == "error"
    assert f["evidence"] == {"count": 2, "negative": 0, "above": 2, "min": 0, "max": 9,
                             "vocab_size": 8}  # fmt: skip
    assert "input_dim ≥ 10" in f["message"]
    assert not [f for f in findings(f"{src}:tokens", "--vocab-size", "10") if f["code"] == "DS306"]
    r = cli("check", f"{src}:tokens", "--vocab-size", "8")
    assert r.code == 1 and "DS306 error token-id-out-of-range" in r.stdout


def test_negative_ids_and_dense_and_npz_inputs(tmp_path):
    np.save(tmp_path / "p.npy", np.array([[-1, -1, 3], [1, 2, 4]], dtype=np.int32))
    (f,) = [f for f in findings(tmp_path / "p.npy", "--vocab-size", "5") if f["code"] == "DS306"]
    assert (f["evidence"]["negative"], f["evidence"]["above"]) == (2, 0)
    assert "read as the last row by Keras" in f["message"]
    np.savez(tmp_path / "r.npz", ids=np.array([1, 7, 2]), ids_lengths=np.array([2, 1]))
    (g,) = [f for f in findings(f"{tmp_path / 'r.npz'}:ids", "--vocab-size", "5")
            if f["code"] == "DS306"]  # fmt: skip
    assert g["evidence"]["above"] == 1 and g["evidence"]["max"] == 7


def test_padding_minus_one_with_pads_mask_is_fixed_by_shift(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tokens_parquet(tmp_path)
    assert cli("pad", "tokens.parquet:tokens", "--value", "-1", "-o", "p.npy").code == 0
    (f,) = [f for f in findings("p.npy", "--vocab-size", "10") if f["code"] == "DS306"]
    (fix,) = f["fixes"]
    assert (
        fix["command"] == "dsdoctor shift p.npy --vocab-size 10 --mask p.mask.npy -o p.shifted.npy"
    )
    assert cli(*fix["command"].split()[1:]).code == 0
    assert not [f for f in findings("p.shifted.npy", "--vocab-size", "11") if f["code"] == "DS306"]


def test_ids_of_a_list_column_holding_nulls_are_checked_too(tmp_path):
    p = tmp_path / "holes.parquet"
    pq.write_table(pa.table({"t": pa.array([[1, None, 12], [3]], pa.list_(pa.int32()))}), p)
    (f,) = [f for f in findings(f"{p}:t", "--vocab-size", "10") if f["code"] == "DS306"]
    assert f["evidence"]["above"] == 1 and f["evidence"]["max"] == 12


def test_vocab_size_reads_only_integer_inputs_not_targets():
    report = dsdoctor.check(x=np.full((4, 3), 9.0), y=np.array([0, 9, 9, 9]), vocab_size=5)
    assert "token-id-out-of-range" not in {f.name for f in report.findings}
    with pytest.raises(UsageError, match="--vocab-size must be at least 1"):
        dsdoctor.check(x=np.ones((2, 2), np.int32), vocab_size=0)


def test_the_shifted_output_fits_the_new_vocabulary_and_not_the_old(tmp_path):
    src = tokens_parquet(tmp_path)
    shifted_result(f"{src}:tokens", "-o", tmp_path / "s.parquet")
    codes = {f["code"] for f in findings(f"{tmp_path / 's.parquet'}:tokens", "--vocab-size", "11")}
    assert "DS306" not in codes and "DS302" not in codes  # 0 is free: no collision either
    assert "DS306" in {
        f["code"] for f in findings(f"{tmp_path / 's.parquet'}:tokens", "--vocab-size", "10")
    }


def test_vocab_size_in_a_spec(tmp_path):
    src = tokens_parquet(tmp_path)
    spec = tmp_path / "dsdoctor.toml"
    spec.write_text(f'[check]\nvocab_size = 8\n\n[arrays.x]\nsource = "{src}:tokens"\n')
    report = dsdoctor.check(spec=str(spec))
    assert "token-id-out-of-range" in {f.name for f in report.findings}


# -- DS302 fixes ------------------------------------------------------------------------------
def test_collision_on_token_ids_offers_shift_then_an_id_above_never_minus_one(tmp_path):
    src = tokens_parquet(tmp_path)
    (f,) = [f for f in findings(f"{src}:tokens") if f["code"] == "DS302"]
    shift, pad = f["fixes"]
    assert shift["command"].startswith("dsdoctor shift") and shift["safety"] == "lossless"
    assert "--value 10" in pad["command"] and "=-1" not in pad["command"]
    assert "Embedding(input_dim=11)" in f["message"]


def test_the_suggested_shift_runs_and_clears_the_collision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tokens_parquet(tmp_path)
    (f,) = [f for f in findings("tokens.parquet:tokens") if f["code"] == "DS302"]
    words = f["fixes"][0]["command"].split()[1:]
    assert cli(*words).code == 0
    assert "DS302" not in {f["code"] for f in findings("tokens.tokens.shifted.parquet:tokens")}


def test_collision_on_padded_ids_offers_shift_with_pads_mask(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tokens_parquet(tmp_path)
    assert cli("pad", "tokens.parquet:tokens", "--padding", "post", "-o", "p.npy").code == 0
    (f,) = [f for f in findings("p.npy", "--mask-value", "0") if f["code"] == "DS302"]
    assert [x["command"] for x in f["fixes"]] == [
        "dsdoctor shift p.npy --mask p.mask.npy -o p.shifted.npy"
    ]
    np.save("alone.npy", np.load("p.npy"))  # no mask beside it: no shift can tell the padding
    (g,) = [f for f in findings("alone.npy", "--mask-value", "0") if f["code"] == "DS302"]
    assert g["fixes"] == [] and "shift SRC --mask MASK" in g["message"]


def test_collision_on_float_features_keeps_a_value_below_their_range(tmp_path):
    p = tmp_path / "f.parquet"
    pq.write_table(pa.table({"x": pa.array([[0.5, 0.0], [2.0]], pa.list_(pa.float32()))}), p)
    (f,) = [f for f in findings(f"{p}:x") if f["code"] == "DS302"]
    assert len(f["fixes"]) == 1 and "--value=-1" in f["fixes"][0]["command"]
    assert "shift" not in f["message"]


# -- mask reports the collision as check does ---------------------------------------------------
def test_mask_reports_the_collision_exactly_as_check(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tokens_parquet(tmp_path)
    assert cli("pad", "tokens.parquet:tokens", "--padding", "post", "-o", "p.npy").code == 0
    checked = [f for f in findings("p.npy", "--mask-value", "0") if f["code"] == "DS302"]
    r = cli("mask", "p.npy", "--value", "0", "-o", "m.npy", "--json")
    assert r.code == 0 and r.json()["findings"] == checked
    text = cli("mask", "p.npy", "--value", "0", "-o", "m2.npy").stdout
    check_text = cli("check", "p.npy", "--mask-value", "0", "--select", "DS302").stdout
    lines = [ln for ln in check_text.splitlines() if "DS302" in ln or "fix (" in ln]
    assert len(lines) == 2 and all(ln in text.splitlines() for ln in lines)
    # no collision, no finding — again as check says
    np.save("clean.npy", np.array([[0, 0, 3], [1, 2, 3]]))
    assert cli("mask", "clean.npy", "-o", "c.npy", "--json").json()["findings"] == []
    assert not [f for f in findings("clean.npy", "--mask-value", "0") if f["code"] == "DS302"]


def test_mask_finding_for_a_float_array_matches_too(tmp_path):
    x = np.zeros((3, 4, 2), np.float32)
    x[0, 1:] = 1.0
    x[0, 2] = 0.0  # a real all-zero frame between real frames
    x[1, 3] = 2.0
    np.save(tmp_path / "f.npy", x)
    checked = [f for f in findings(tmp_path / "f.npy", "--mask-value", "0") if f["code"] == "DS302"]
    r = cli("mask", tmp_path / "f.npy", "-o", tmp_path / "m.npy", "--json")
    assert checked and r.json()["findings"] == checked


# -- the frameworks ----------------------------------------------------------------------------
def _padded(tmp_path, src: str, name: str, *options: str):
    assert cli("pad", src, "--padding", "post", *options, "-o", tmp_path / name).code == 0
    stem = name.removesuffix(".npy")
    return (np.load(tmp_path / name), np.load(tmp_path / f"{stem}.mask.npy"),
            np.load(tmp_path / f"{stem}.lengths.npy"))  # fmt: skip


def test_pytorch_trains_on_shifted_ids_and_fails_on_minus_one(tmp_path):
    torch = pytest.importorskip("torch")
    src = tokens_parquet(tmp_path)
    vocab = shifted_result(f"{src}:tokens", "-o", tmp_path / "s.parquet")["details"]["vocab_size"]
    ids, mask, lengths = _padded(tmp_path, f"{tmp_path / 's.parquet'}:tokens", "p.npy")
    assert (ids[~mask] == 0).all() and ids[mask].min() == 1
    torch.manual_seed(0)
    emb = torch.nn.Embedding(vocab, 4, padding_idx=0)
    gru = torch.nn.GRU(4, 3, batch_first=True)
    head = torch.nn.Linear(3, 2)
    params = [*emb.parameters(), *gru.parameters(), *head.parameters()]
    opt = torch.optim.SGD(params, lr=0.1)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        emb(torch.as_tensor(ids, dtype=torch.long)), torch.as_tensor(lengths),
        batch_first=True, enforce_sorted=False)  # fmt: skip
    _, h = gru(packed)
    loss = torch.nn.functional.cross_entropy(head(h[-1]), torch.as_tensor([0, 1, 0, 1, 0]))
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    # the old advice, pad --value -1 on the unshifted ids: PyTorch refuses it
    bad, _, _ = _padded(tmp_path, f"{src}:tokens", "m1.npy", "--value", "-1")
    with pytest.raises(IndexError, match="index out of range in self"):
        torch.nn.Embedding(10, 4)(torch.as_tensor(bad, dtype=torch.long))
    with pytest.raises(IndexError, match="index out of range in self"):  # DS306: id >= V
        torch.nn.Embedding(vocab - 1, 4)(torch.as_tensor(ids, dtype=torch.long))


KERAS_STEP = textwrap.dedent(
    """
    import json, sys, numpy as np, keras
    ids, vocab, bad, old_vocab = np.load(sys.argv[1]), int(sys.argv[2]), np.load(sys.argv[3]), int(sys.argv[4])
    y = np.arange(len(ids)) % 2
    model = keras.Sequential([keras.Input((ids.shape[1],), dtype="int32"),
                              keras.layers.Embedding(vocab, 4, mask_zero=True),
                              keras.layers.GRU(3), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    out = model.train_on_batch(ids, y)
    seen = {"loss": float(out[0] if isinstance(out, list) else out)}
    # mask_zero's mask against pad's mask file: exact on the shifted ids, hides real 0s before
    zero = keras.layers.Embedding(vocab, 4, mask_zero=True)
    for name, data, real in (("shifted", ids, np.load(sys.argv[5])),
                             ("unshifted", np.load(sys.argv[6]), np.load(sys.argv[7]))):
        computed = keras.ops.convert_to_numpy(zero.compute_mask(data))
        seen[name + "_real_hidden"] = int(np.count_nonzero(real & ~computed))
    emb = keras.layers.Embedding(old_vocab, 4)
    emb.build((None, bad.shape[1]))
    table = keras.ops.convert_to_numpy(emb.embeddings)
    got = keras.ops.convert_to_numpy(emb(bad))
    seen["minus_one_is_last_row"] = bool(np.allclose(got[bad == -1], table[-1]))
    try:
        over = keras.ops.convert_to_numpy(emb(np.array([[1, old_vocab]])))
        seen["id_at_vocab"] = "nan" if np.isnan(over[0, 1]).all() else "a row"
    except Exception as exc:
        seen["id_at_vocab"] = type(exc).__name__ + ": " + str(exc)
    print(json.dumps(seen))
    """
)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_trains_on_shifted_ids_and_misreads_minus_one(tmp_path, backend):
    pytest.importorskip(backend)
    src = tokens_parquet(tmp_path)
    vocab = shifted_result(f"{src}:tokens", "-o", tmp_path / "s.parquet")["details"]["vocab_size"]
    _padded(tmp_path, f"{tmp_path / 's.parquet'}:tokens", "p.npy")
    _padded(tmp_path, f"{src}:tokens", "m1.npy", "--value", "-1")
    _padded(tmp_path, f"{src}:tokens", "z.npy")  # the unshifted ids padded with 0
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    args = ["p.npy", str(vocab), "m1.npy", str(vocab - 1), "p.mask.npy", "z.npy", "z.mask.npy"]
    p = subprocess.run([sys.executable, "-c", KERAS_STEP, *args], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert np.isfinite(seen["loss"])
    assert seen["minus_one_is_last_row"] is True  # silently a real token's vector, every backend
    # Embedding(mask_zero=True) hides the 3 real id-0 tokens of SEQS, none after shift
    assert (seen["unshifted_real_hidden"], seen["shifted_real_hidden"]) == (3, 0)
    if backend == "jax":  # an id >= V: a row of NaN, no error
        assert seen["id_at_vocab"] == "nan"
    else:
        assert (
            seen["id_at_vocab"].startswith("IndexError")
            and "index out of range" in seen["id_at_vocab"]
        )


def test_repair_error_type_for_overflow():
    with pytest.raises(RepairError, match="64-bit"):
        dsdoctor.shift(np.array([[np.iinfo(np.uint64).max]], dtype=np.uint64))


# -- repair: shift before pad ----------------------------------------------------------------------
REPAIRED_STEP = textwrap.dedent(
    """
    import json, sys, numpy as np, keras
    ids, mask, vocab = np.load(sys.argv[1]), np.load(sys.argv[2]), int(sys.argv[3])
    model = keras.Sequential([keras.Input((ids.shape[1],), dtype="int32"),
                              keras.layers.Embedding(vocab, 4, mask_zero=True),
                              keras.layers.GRU(3), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    out = model.train_on_batch(ids, np.arange(len(ids)) % 2)
    computed = keras.ops.convert_to_numpy(model.layers[0].compute_mask(ids))
    print(json.dumps({"loss": float(out[0] if isinstance(out, list) else out),
                      "mask_agrees": bool((computed == mask).all())}))
    """
)


@pytest.mark.parametrize("fmt", ["parquet", "npz"])
def test_repair_shifts_token_ids_before_padding_them_with_zero(tmp_path, fmt):
    """Ragged ids where 0 is a real token: DS301 (pad with 0) and DS302 (shift) both fix them;
    repair shifts first and pads the shifted ids, so the padding 0 is no real id — the re-check
    is healthy because the collision is gone, and Keras' mask_zero mask is pad's mask."""
    if fmt == "parquet":
        src = f"{tokens_parquet(tmp_path)}:tokens"
    else:
        values = np.array([i for s in SEQS for i in s], dtype=np.int32)
        np.savez(tmp_path / "r.npz", ids=values, ids_lengths=np.array([len(s) for s in SEQS]))
        src = f"{tmp_path / 'r.npz'}:ids"
    assert {"DS301", "DS302"} <= {f["code"] for f in findings("--x", src)}
    out = tmp_path / "rep"
    r = cli("repair", "--x", src, "-o", out, "--json")
    assert r.code == 0, (r.stdout, r.stderr)
    done = r.json()
    assert [a["code"] for a in done["applied"]] == ["DS302", "DS301"]  # shift, then pad
    pad = done["applied"][1]
    assert pad["after"] == "shift" and pad["source"].startswith(str(out / ""))
    assert pad["result"]["source"].startswith(pad["source"])  # the shifted ids, not the source
    vocab = done["applied"][0]["result"]["details"]["vocab_size"]
    assert vocab == max(max(s) for s in SEQS) + 2
    reasons = [s["reason"] for s in done["skipped"]]
    assert reasons and all("already repaired by shift, then pad" in s for s in reasons)
    (padded,) = out.glob("*.padded.npy")
    ids, mask = np.load(padded), np.load(padded.with_name(padded.name[:-4] + ".mask.npy"))
    assert ids.shape == (len(SEQS), max(map(len, SEQS)))
    assert ids[mask].tolist() == [i + 1 for s in SEQS for i in s]  # each row's ids + 1, in order
    assert (ids[~mask] == 0).all() and (ids[mask] != 0).all()
    assert findings(padded) == []  # no real 0 left for a mask to hide
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    p = subprocess.run([sys.executable, "-c", REPAIRED_STEP, padded, padded.with_name(
        padded.name[:-4] + ".mask.npy"), str(vocab)], capture_output=True, text=True, env=env,
        timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    seen = json.loads(p.stdout.strip().splitlines()[-1])
    assert np.isfinite(seen["loss"]) and seen["mask_agrees"] is True
