"""Independent oracle for the input mapper's deterministic quantities (docs/mapper.md:
amira-fields, cell-grid, length-and-area-per-voxel, synapse-density, formulas), written straight
from the formulas with numpy and deliberately naive: the segment clipping runs against *every*
cell-grid voxel, as ISF does, rather than the Rust code's bounded index range.

usage: mapper_oracle.py MODEL_DIR CELL.hoc POST_TYPE  -> JSON on stdout
"""
import json
import os
import sys

import numpy as np

EXC = ('VPM', 'L2', 'L34', 'L4py', 'L4sp', 'L4ss', 'L5st', 'L5tt', 'L6cc', 'L6ccinv', 'L6ct')


def read_am(path):
    dims = bbox = sp = None
    vals = []
    data = False
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            if data:
                vals.extend(float(t) for t in line.split())
                continue
            if line.startswith('@1'):
                data = True
            elif 'define' in line and 'Lattice' in line:
                dims = [int(t) for t in line.split()[-3:]]
            elif 'BoundingBox' in line:
                bbox = [float(t) for t in line.strip(' \t\n,').split()[-6:]]
            elif 'Spacing' in line:
                sp = [float(t) for t in line.strip(' \t\n,').split()[-3:]]
    a = np.array(vals).reshape(dims[::-1]).transpose(2, 1, 0)  # x fastest in file
    origin = np.array([bbox[0], bbox[2], bbox[4]]) - 0.5 * np.array(sp)
    # crop to non-zero
    nz = np.nonzero(a)
    lo = np.array([n.min() for n in nz])
    hi = np.array([n.max() for n in nz])
    a = a[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1]
    origin = origin + lo * np.array(sp)
    return a, origin, np.array(sp)


def lookup(field, p):
    a, o, d = field
    hi = o + np.array(a.shape) * d
    if np.any(p < o + 1e-6) or np.any(p > hi - 1e-6):
        return None
    idx = np.floor((p - o) / d).astype(int)
    return a[tuple(idx)]


def read_hoc(path):
    secs = []
    cur = None
    names = {}
    for line in open(path):
        if '/*' in line and '*/' in line:
            continue
        if 'create' in line:
            name = line.strip('{} \t\r\n').split()[1]
            label = None
            if 'soma' in line:
                label = 'Soma'
            elif 'dend' in line or 'BasalDendrite' in line:
                label = 'Dendrite'
            elif 'apical' in line:
                label = 'ApicalDendrite'
            cur = None
            if label is not None:
                cur = {'name': name, 'label': label, 'pts': [], 'parent': None}
                names[name] = len(secs)
                secs.append(cur)
            continue
        if cur is None:
            continue
        if 'connect' in line:
            parent = line.split(',')[1].split('(')[0].strip()
            cur['parent'] = parent
        elif 'pt3dadd' in line:
            cur['pts'].append([float(t) for t in line[line.index('(') + 1:line.index(')')].split(',')])
    return secs


def main():
    model, hoc, post = sys.argv[1:4]
    ex = read_am(os.path.join(model, 'PST', 'EXNormalizationPSTs.am'))
    inh = read_am(os.path.join(model, 'PST', 'INHNormalizationPSTs.am'))
    rho = {}
    for line in open(os.path.join(model, 'ConnectionsV8.csv')):
        f = line.rstrip('\n').split('\t')
        if f[0] == 'PRESYNAPTIC_CELLTYPE' or len(f) < 8 or f[1] != post:
            continue
        cls = 'EXC' if 'EXCITATORY' in f[0] else 'INH'
        v = [float(x) for x in f[2:8]]
        # soma_len, apical_len, basal_len, soma_area, apical_area, basal_area
        rho[cls] = {'Soma': (v[0], v[3]), 'ApicalDendrite': (v[1], v[4]), 'Dendrite': (v[2], v[5])}
    secs = read_hoc(hoc)
    structures = []
    for s in secs:
        if s['label'] not in structures:
            structures.append(s['label'])
    allp = np.array([p[:3] for s in secs for p in s['pts']])
    cmin, cmax = allp.min(0), allp.max(0)
    a, o, d = ex
    n = np.array(a.shape)
    vlo = o + np.arange(max(n))[:, None] * d  # per-axis lower faces (padded)
    lo_idx = []
    hi_idx = []
    for ax in range(3):
        faces = o[ax] + np.arange(n[ax]) * d[ax]
        ok = (faces <= cmax[ax]) & (faces + d[ax] >= cmin[ax])
        w = np.nonzero(ok)[0]
        lo_idx.append(w.min())
        hi_idx.append(w.max())
    gorigin = o + np.array(lo_idx) * d
    gdims = np.array(hi_idx) - np.array(lo_idx) + 1
    nv = int(np.prod(gdims))
    ii, jj, kk = np.meshgrid(np.arange(gdims[0]), np.arange(gdims[1]), np.arange(gdims[2]), indexing='ij')
    ijk = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], 1)  # C order: lin = (i*ny+j)*nz+k
    vmin = gorigin + ijk * d
    vmax = vmin + d
    L = {s: np.zeros(nv) for s in structures}
    A = {s: np.zeros(nv) for s in structures}
    has_pt = {s: np.zeros(nv, bool) for s in structures}

    def lin(idx):
        return (idx[0] * gdims[1] + idx[1]) * gdims[2] + idx[2]

    for s in secs:
        pts = np.array(s['pts'])
        for p in pts:
            inside = np.all((vmin <= p[:3]) & (p[:3] <= vmax), 1)
            has_pt[s['label']] |= inside
        for q in range(len(pts) - 1):
            p1, p2 = pts[q, :3], pts[q + 1, :3]
            r1, r2 = pts[q, 3], pts[q + 1, 3]  # diameter used as radius (ISF)
            h = np.linalg.norm(p2 - p1)
            i1 = np.floor((p1 - gorigin) / d).astype(int)
            i2 = np.floor((p2 - gorigin) / d).astype(int)
            if np.all(i1 == i2):
                v = lin(i1)
                L[s['label']][v] += h
                A[s['label']][v] += np.pi * (r1 + r2) * np.sqrt(h * h + (r2 - r1) ** 2)
                continue
            dd = p2 - p1
            u1 = np.zeros(nv)
            u2 = np.ones(nv)
            rej = np.zeros(nv, bool)
            for ax in range(3):
                for pp, qq in ((-dd[ax], p1[ax] - vmin[:, ax]), (dd[ax], vmax[:, ax] - p1[ax])):
                    if pp < 0:
                        t = qq / pp
                        rej |= t > u2
                        u1 = np.where(~rej & (t > u1), t, u1)
                    elif pp > 0:
                        t = qq / pp
                        rej |= t < u1
                        u2 = np.where(~rej & (t < u2), t, u2)
                    else:
                        rej |= qq < 0
            ok = ~rej & (u2 >= u1)
            hh = (u2 - u1) * h
            if h < 1e-4:
                ra = rb = np.full(nv, 0.5 * (r1 + r2))
            else:
                ra = u1 * r2 + (1 - u1) * r1
                rb = u2 * r2 + (1 - u2) * r1
            area = np.pi * (ra + rb) * np.sqrt(hh * hh + (rb - ra) ** 2)
            L[s['label']][ok] += hh[ok]
            A[s['label']][ok] += area[ok]
    P = {c: {s: rho[c][s][0] * L[s] + rho[c][s][1] * A[s] for s in structures} for c in ('EXC', 'INH')}
    centres = gorigin + (ijk + 0.5) * d
    N = {'EXC': [lookup(ex, c) for c in centres], 'INH': [lookup(inh, c) for c in centres]}
    gmin, gmax = gorigin, gorigin + gdims * d
    counts = {}
    with open(os.path.join(model, 'nrCells.csv')) as f:
        rows = [l.rstrip('\n').split('\t') for l in f if l.strip()]
    cols = rows[0][1:]
    for r in rows[1:]:
        for c, v in zip(cols, r[1:]):
            counts[(c, r[0])] = int(v)
    files = {}
    blocks = {}
    for c in cols:
        for r in rows[1:]:
            t = r[0]
            folder = os.path.join(model, 'singleaxon_boutons_ascii', c, t)
            names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
            cls = 'EXC' if t in EXC else 'INH'
            totals = []
            for nm in names:
                path = os.path.join(folder, nm)
                b = read_am(path)
                bmin = b[1]
                bmax = b[1] + np.array(b[0].shape) * b[2]
                if not np.all((bmin <= gmax) & (gmin <= bmax)):
                    files[path] = None
                    totals.append(0.0)
                    continue
                tot = 0.0
                tot_all = 0.0
                for v in range(nv):
                    nn = N[cls][v]
                    bb = lookup(b, centres[v])
                    if nn is None or bb is None or nn <= 0:
                        continue
                    for s in structures:
                        lam = bb * P[cls][s][v] / nn
                        tot_all += lam
                        if has_pt[s][v]:
                            tot += lam
                files[path] = {'total': tot, 'total_including_lost': tot_all}
                totals.append(tot)
            e = counts[(c, t)] * (np.mean(totals) if totals else 0.0)
            pc = counts[(c, t)] * (np.mean([1 - np.exp(-x) for x in totals]) if totals else 0.0)
            blocks['%s_%s' % (t, c)] = {'expected_synapses': e, 'expected_connected': pc}
    out = {
        'grid_origin': gorigin.tolist(),
        'grid_dims': gdims.tolist(),
        'structures': structures,
        'length': {s: L[s].tolist() for s in structures},
        'area': {s: A[s].tolist() for s in structures},
        'pst_exc': {s: P['EXC'][s].tolist() for s in structures},
        'pst_inh': {s: P['INH'][s].tolist() for s in structures},
        'files': files,
        'blocks': blocks,
    }
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
