"""The host-emulation kernel cache is private: owner, permissions and content hash are checked
before a compiled library is loaded (issue 13)."""
import os
import stat

import pytest

from neurophys.kernels import emulate


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache" / "neurophys" / "kernels"
    monkeypatch.setenv("NEUROPHYS_KERNEL_CACHE", str(d))
    return d


def _fake_build(folder, content=b"\x7fELF not really a library"):
    lib = folder / "gpe_0123456789abcdef.so"
    lib.write_bytes(content)
    emulate._digest_path(lib).write_text(emulate._sha256_file(lib) + "\n")
    return lib


def test_cache_is_per_user_and_created_0700(cache, monkeypatch):
    d = emulate._cache_dir()
    assert d == cache
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    monkeypatch.delenv("NEUROPHYS_KERNEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache.parent / "xdg"))
    assert emulate.cache_root() == cache.parent / "xdg" / "neurophys" / "kernels"
    assert "tmp" not in str(emulate.cache_root().relative_to(cache.parent))


def test_default_cache_is_not_the_shared_temp_dir(monkeypatch):
    import tempfile
    monkeypatch.delenv("NEUROPHYS_KERNEL_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert not str(emulate.cache_root()).startswith(tempfile.gettempdir() + os.sep + "neurophys_kernels")


def test_folder_writable_by_others_is_refused(cache):
    d = emulate._cache_dir()
    os.chmod(d, 0o777)
    with pytest.raises(emulate.UnsafeCacheError, match="writable by others"):
        emulate._cache_dir()
    os.chmod(d, 0o700)


def test_folder_owned_by_someone_else_is_refused(cache, monkeypatch):
    emulate._cache_dir()
    monkeypatch.setattr(os, "getuid", lambda: 12345)   # as if another user made the folder
    with pytest.raises(emulate.UnsafeCacheError, match="belongs to user id"):
        emulate._cache_dir()


def test_library_owned_by_someone_else_is_refused(cache, monkeypatch):
    lib = _fake_build(emulate._cache_dir())
    real_lstat = os.lstat

    def lstat(p, *a, **k):
        st = real_lstat(p, *a, **k)
        if str(p) == str(lib):
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid + 1) + tuple(st)[5:])
        return st
    monkeypatch.setattr(os, "lstat", lstat)
    with pytest.raises(emulate.UnsafeCacheError, match="library .* belongs to user id"):
        emulate.verify_library(lib)


def test_tampered_library_is_refused(cache):
    lib = _fake_build(emulate._cache_dir())
    assert emulate.verify_library(lib) == lib
    lib.write_bytes(b"planted code")
    with pytest.raises(emulate.UnsafeCacheError, match="changed after it was built"):
        emulate.verify_library(lib)


def test_library_without_hash_record_is_refused(cache):
    lib = _fake_build(emulate._cache_dir())
    emulate._digest_path(lib).unlink()
    with pytest.raises(emulate.UnsafeCacheError, match="no recorded content hash"):
        emulate.verify_library(lib)


def test_group_writable_library_is_refused(cache):
    lib = _fake_build(emulate._cache_dir())
    os.chmod(lib, 0o664)
    with pytest.raises(emulate.UnsafeCacheError, match="writable by others"):
        emulate.verify_library(lib)


@pytest.mark.skipif(emulate.find_compiler() is None, reason="no host C++ compiler")
def test_real_build_records_its_hash_and_loads(cache):
    mod = emulate.HostModule("eqprop")
    assert mod.path.parent == cache
    assert emulate._digest_path(mod.path).read_text().strip() == emulate._sha256_file(mod.path)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
