"""shrink_results.py SRC DST: rewrites a caviar results file compactly for
the fuzz corpus: every object and attribute as in SRC, but 2-row chunks and
attributes kept in the object headers (no dense attribute storage), so that
a whole results file is a few KB; /checkpoints is copied unchanged (its
groups keep the original format, as in a real file). Run with /usr/bin/python3 (h5py)."""
import sys
import h5py

def ocpl(kind):
    p = h5py.h5p.create(kind)
    p.set_attr_phase_change(64, 48)  # attributes stay in the object header
    return p

def copy_attrs(src, dst):
    for k in src.attrs:
        dst.attrs.create(k, src.attrs[k], dtype=src.attrs.get_id(k).dtype)

def shrink(src_path, dst_path):
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    fid = h5py.h5f.create(dst_path.encode(), h5py.h5f.ACC_TRUNC, fcpl=ocpl(h5py.h5p.FILE_CREATE), fapl=fapl)
    with h5py.File(src_path, "r") as s, h5py.File(fid) as d:
        copy_attrs(s, d)
        def walk(sg, dg):
            for name in sg:
                link = sg.get(name, getlink=True)
                if isinstance(link, h5py.SoftLink):
                    dg[name] = h5py.SoftLink(link.path)
                    continue
                obj = sg[name]
                if sg.name == "/" and name == "checkpoints":
                    # copied as they are (H5Ocopy), as caviar gathers them
                    # from its side files: groups of the original format,
                    # whose local heaps and B-trees a real file has and
                    # rewritten groups would not
                    sg.copy(obj, dg, name)
                elif isinstance(obj, h5py.Group):
                    g = h5py.Group(h5py.h5g.create(dg.id, name.encode(), gcpl=ocpl(h5py.h5p.GROUP_CREATE)))
                    copy_attrs(obj, g)
                    walk(obj, g)
                else:
                    data = obj[()]
                    tid = h5py.h5t.py_create(obj.dtype, logical=True)
                    dcpl = ocpl(h5py.h5p.DATASET_CREATE)
                    if obj.chunks is not None and obj.ndim == 1:
                        dcpl.set_chunk((2,))
                        space = h5py.h5s.create_simple(obj.shape, (h5py.h5s.UNLIMITED,))
                    else:
                        space = h5py.h5s.create_simple(obj.shape)
                    ds = h5py.Dataset(h5py.h5d.create(dg.id, name.encode(), obj.id.get_type(), space, dcpl=dcpl))
                    if data.size:
                        ds[...] = data
                    copy_attrs(obj, ds)
        walk(s, d)

shrink(sys.argv[1], sys.argv[2])
