#!/usr/bin/env python3
"""Generates the MPI shim's wrappers for every MPI function that is not hand-written.

    gen_mpi_wrappers.py --mpi-h <mpi.h> --handwritten <dir with the shim's .cc> --out <file.cc>
                        [--abi <name>] [--list]

Reads <mpi.h> (and the headers it includes from its own directory, e.g. MPICH's mpi_proto.h and
mpio.h), collects every `int MPI_X(...)` prototype that has a PMPI_X twin, and writes one C++
file that defines MPI_X and PMPI_X (CAIRN_API / CAIRN_PMPI, src/mpi/shim.h) for each of them
except:
  - the names some CAIRN_PMPI(MPI_X) in <dir>/*.cc already defines (the hand-written ones);
  - names the header #defines as macros (MPICH's *_c2f/*_f2c, Open MPI's removed MPI-1
    functions), prototypes marked __mpi_interface_removed__, variadic ones (MPI_Pcontrol),
    and callbacks (MPI_DUP_FN).

Every generated wrapper (see `emit`):
  - from inside the lower half, calls the real function untouched;
  - otherwise enters the shim (Call), translates the program's virtual handles (Comm, Group,
    Datatype, Op, Request, Errhandler, File, Info; arrays element-wise, lengths from LENGTHS, into copies
    that live as long as the request for nonblocking calls), counts the call when it is a
    collective on a communicator (COLLECTIVES: CountCollective / CompleteCollective; a
    nonblocking one is complete for the count once started, and the drain completes it), calls
    the real function inside the lower half (Lower) and turns output handles into virtual ones
    (gen::Out*: objects without a recipe, so the registry names the function while they live;
    requests of kind kOther);
  - records the function for good with the unsupported registry when a restart could not
    rebuild what it did (`sticky`), or counts the live objects of the kinds the shim does not
    virtualize (Win, Message, Session: gen::Live, +1 when made, -1 when freed);
  - MPI-IO (io.h): collective file operations are counted on the file's own key (FileKey),
    uses of the shared file pointer and split collectives are noted, and I/O requests are
    completed by the drain (gen::OutCollRequest without a communicator);
  - an array of handles whose length the generator does not know: the wrapper refuses
    (gen::Fail: MPI_ERR_OTHER and an stderr line naming the function).
Functions MPI removed that a header still declares (ALIASES) call the hand-written wrapper of
their successor. The summary (how many functions, which are counted, noted, refused) goes into
the file's header comment; --list prints it with the names.
"""
import argparse
import os
import re
import sys

VIRTUAL = {
    'MPI_Comm': 'Comms()',
    'MPI_Group': 'Groups()',
    'MPI_Datatype': 'Types()',
    'MPI_Op': 'Ops()',
    'MPI_Request': 'Requests()',
    'MPI_Errhandler': 'Errhs()',
    'MPI_File': 'Files()',
    'MPI_Info': 'Infos()',
}
OUT_FN = {
    'MPI_Comm': 'gen::OutComm',
    'MPI_Group': 'gen::OutGroup',
    'MPI_Datatype': 'gen::OutType',
    'MPI_Op': 'gen::OutOp',
    'MPI_Info': 'gen::OutInfo',
}
UNTRACKED = {'MPI_Win': 'kWin',
             'MPI_Message': 'kMessage', 'MPI_Session': 'kSession'}
NULLS = {'MPI_Win': 'MPI_WIN_NULL',
         'MPI_Message': 'MPI_MESSAGE_NULL', 'MPI_Session': 'MPI_SESSION_NULL'}

# Blocking collectives on a communicator (the names without MPI_, without a large-count _c);
# MPI_I<name> is the nonblocking one. Both are counted per communicator (objects.cc).
COLLECTIVES = {
    'Barrier', 'Bcast', 'Gather', 'Gatherv', 'Scatter', 'Scatterv', 'Allgather', 'Allgatherv',
    'Alltoall', 'Alltoallv', 'Alltoallw', 'Reduce', 'Allreduce', 'Reduce_scatter',
    'Reduce_scatter_block', 'Scan', 'Exscan', 'Neighbor_allgather', 'Neighbor_allgatherv',
    'Neighbor_alltoall', 'Neighbor_alltoallv', 'Neighbor_alltoallw',
}

# Collective operations on a file (the names without MPI_File_, without a large-count _c): counted
# on the file's own key (io.cc: FileKey), like a collective on a communicator. MPI_File_open,
# _close, _set_view and _set_atomicity are hand-written (io.cc).
FILE_COLLECTIVES = {
    'set_size', 'preallocate', 'set_info', 'sync', 'seek_shared',
    'read_at_all', 'write_at_all', 'iread_at_all', 'iwrite_at_all',
    'read_all', 'write_all', 'iread_all', 'iwrite_all', 'read_ordered', 'write_ordered',
    'read_at_all_begin', 'read_at_all_end', 'write_at_all_begin', 'write_at_all_end',
    'read_all_begin', 'read_all_end', 'write_all_begin', 'write_all_end',
    'read_ordered_begin', 'read_ordered_end', 'write_ordered_begin', 'write_ordered_end',
}


def file_op(name):
    """(collective?, uses the shared file pointer?, split: 'begin'/'end'/None) of MPI_File_X."""
    if not name.startswith('MPI_File_'):
        return None
    n = name[len('MPI_File_'):]
    if n.endswith('_c'):
        n = n[:-2]
    split = 'begin' if n.endswith('_begin') else 'end' if n.endswith('_end') else None
    shared = 'shared' in n or 'ordered' in n
    return (n in FILE_COLLECTIVES, shared, split)


# Arrays of input handles: function (without a large-count _c) -> {parameter index: (length
# expression, condition)}. `{pN}` is parameter N's name, `rcomm_` the translated communicator.
_ALLTOALLW = {3: ('gen::CommPeers(rcomm_)', '{p0} != MPI_IN_PLACE'),
              7: ('gen::CommPeers(rcomm_)', None)}
_NEIGHBORW = {3: ('gen::OutDegree(rcomm_)', None), 7: ('gen::InDegree(rcomm_)', None)}
LENGTHS = {
    'MPI_Alltoallw': _ALLTOALLW, 'MPI_Ialltoallw': _ALLTOALLW, 'MPI_Alltoallw_init': _ALLTOALLW,
    'MPI_Neighbor_alltoallw': _NEIGHBORW, 'MPI_Ineighbor_alltoallw': _NEIGHBORW,
    'MPI_Neighbor_alltoallw_init': _NEIGHBORW,
    'MPI_Type_create_struct': {3: ('{p0}', None)},
}
# Arrays of requests the library owns as they are (persistent requests are the library's own
# handles in the program's hands: see STICKY).
RAW_ARRAYS = {'MPI_Startall', 'MPI_T_event_get_info'}
# Output handles passed through as the library's own: the library writes them when the
# operation completes, after the call returns.
RAW_OUTPUTS = {'MPI_Comm_idup', 'MPI_Comm_idup_with_info'}

# Functions that MPI removed (Open MPI's header no longer declares them; MPICH's does): the
# hand-written wrapper of their successor does the work. The arguments convert implicitly.
ALIASES = {
    'MPI_Errhandler_create': 'MPI_Comm_create_errhandler',
    'MPI_Errhandler_get': 'MPI_Comm_get_errhandler',
    'MPI_Errhandler_set': 'MPI_Comm_set_errhandler',
    'MPI_Type_hvector': 'MPI_Type_create_hvector',
    'MPI_Type_hindexed': 'MPI_Type_create_hindexed',
    'MPI_Type_struct': 'MPI_Type_create_struct',
}

# Functions after which a restart cannot rebuild the process: named by the registry for good.
STICKY_EXACT = {
    'MPI_Grequest_start', 'MPI_Isendrecv', 'MPI_Isendrecv_replace', 'MPI_Comm_idup',
    'MPI_Comm_idup_with_info', 'MPI_Type_create_keyval', 'MPI_Win_create_keyval',
    'MPI_Session_init', 'MPI_Comm_create_from_group', 'MPI_Intercomm_create_from_groups',
    'MPI_Group_from_session_pset', 'MPI_Pready', 'MPI_Pready_range', 'MPI_Pready_list',
    'MPI_Parrived',
}
# Large-count point-to-point calls bypass the drain's message counts.
_P2P = {'Send', 'Recv', 'Bsend', 'Rsend', 'Ssend', 'Isend', 'Irecv', 'Ibsend', 'Irsend',
        'Issend', 'Sendrecv', 'Sendrecv_replace', 'Isendrecv', 'Isendrecv_replace', 'Mrecv',
        'Imrecv'}


def sticky(name):
    if name in STICKY_EXACT:
        return True
    if name.endswith('_init') and name != 'MPI_Init' and name != 'MPI_Session_init':
        return True  # persistent requests (point-to-point, collective, partitioned)
    if name.endswith('_init_c'):
        return True
    if name.endswith('_c') and name[4:-2] in _P2P:
        return True
    return False


def base_collective(name):
    """'blocking' or 'nonblocking' when `name` is a collective on a communicator, else None."""
    n = name[4:]
    if n.endswith('_c'):
        n = n[:-2]
    if n in COLLECTIVES:
        return 'blocking'
    if n.startswith('I') and len(n) > 1 and n[1].upper() + n[2:] in COLLECTIVES:
        return 'nonblocking'
    return None


def lengths_for(name):
    if name in LENGTHS:
        return LENGTHS[name]
    if name.endswith('_c') and name[:-2] in LENGTHS:
        return LENGTHS[name[:-2]]
    return None


# ----------------------------------------------------------------------------- parsing
def strip_comments(t):
    t = re.sub(r'/\*.*?\*/', ' ', t, flags=re.S)
    return re.sub(r'//[^\n]*', '', t)


def load(path, seen):
    if path in seen:
        return ''
    seen.add(path)
    with open(path, encoding='utf-8', errors='replace') as f:
        t = strip_comments(f.read())
    d = os.path.dirname(path)
    out = []
    for line in t.split('\n'):
        m = re.match(r'\s*#\s*include\s*[<"]([^>"]+)[>"]', line)
        if m and 'cxx' not in m.group(1):
            p = os.path.join(d, m.group(1))
            if os.path.exists(p):
                out.append(load(p, seen))
                continue
        out.append(line)
    return '\n'.join(out)


def parse_header(path):
    t = re.sub(r'\\\n', ' ', load(path, set()))
    macros = set(re.findall(r'^\s*#\s*define\s+(\w+)', t, re.M))
    body = '\n'.join(l for l in t.split('\n') if not l.lstrip().startswith('#'))
    protos = {}
    for m in re.finditer(r'\bint\s+(P?MPI_\w+)\s*\(', body):
        name = m.group(1)
        start = max(body.rfind(';', 0, m.start()), body.rfind('}', 0, m.start()))
        if 'typedef' in body[start + 1:m.start()]:
            continue
        i, depth = m.end(), 1
        while depth:
            depth += {'(': 1, ')': -1}.get(body[i], 0)
            i += 1
        params = ' '.join(body[m.end():i - 1].split())
        trailer = body[i:body.find(';', i)]
        if '{' in trailer:
            continue
        protos.setdefault(name, (params, trailer))
    return protos, macros


def split_params(text):
    out, depth, cur = [], 0, ''
    for c in text:
        if c == ',' and depth == 0:
            out.append(cur.strip())
            cur = ''
            continue
        depth += {'(': 1, ')': -1, '[': 1, ']': -1}.get(c, 0)
        cur += c
    if cur.strip():
        out.append(cur.strip())
    return out


TYPE_WORDS = {'int', 'char', 'void', 'double', 'float', 'long', 'short', 'unsigned', 'signed',
              'const', 'volatile'}


class Param:
    def __init__(self, text, index):
        self.index = index
        m = re.match(r'^(.*?)(\w+)\s*((?:\[[^\]]*\]\s*)*)$', text)
        words = re.findall(r'\w+', text)
        unnamed = (not m or text.rstrip().endswith('*') or len([w for w in words if w not in
                   ('const', 'volatile')]) < 2 or words[-1] in TYPE_WORDS)
        if unnamed:
            self.name = 'a%d' % index
            self.decl_type, self.dims = text, ''
        else:
            self.name = m.group(2)
            self.decl_type, self.dims = m.group(1).strip(), m.group(3).replace(' ', '')
        self.text = text if not unnamed else '%s %s' % (text, self.name)
        t = self.decl_type
        self.const = bool(re.search(r'\bconst\b', t))
        self.stars = t.count('*')
        self.arrays = self.dims.count('[')
        bw = [w for w in re.findall(r'\w+', t) if w not in ('const', 'volatile')]
        self.base = bw[-1] if bw else ''

    @property
    def depth(self):
        return self.stars + self.arrays


class Func:
    def __init__(self, name, params_text):
        self.name = name
        self.variadic = '...' in params_text
        ps = [] if params_text.strip() in ('', 'void') else split_params(params_text)
        self.params = [Param(p, i) for i, p in enumerate(ps) if p != '...']


# ----------------------------------------------------------------------------- emission
class Emitted:
    def __init__(self):
        self.generated, self.counted, self.sticky, self.live, self.failing = [], [], [], [], []
        self.aliases = []


def emit(f, out, stats):
    n = f.name
    real_args = [p.name for p in f.params]
    call_args = list(real_args)
    pre, post, notes = [], [], []
    coll = base_collective(n)
    comm_param = None
    for p in f.params:
        if p.base == 'MPI_Comm' and p.depth == 0:
            comm_param = p  # the last one: collectives name their communicator last
    if coll and comm_param is None:
        coll = None
    lengths = lengths_for(n) or {}
    makes_request = any(p.base == 'MPI_Request' and p.stars == 1 and p.arrays == 0 and
                        not p.const for p in f.params)
    kept = []
    failing = None
    if coll and comm_param is not None:
        pre.append('const MPI_Comm rcomm_ = Comms().ToReal(%s);' % comm_param.name)
    file_param = next((p for p in f.params if p.base == 'MPI_File' and p.depth == 0), None)
    fop = file_op(n) if file_param is not None else None
    if fop is not None:
        fcoll, fshared, fsplit = fop
        if fshared:
            pre.append('FileUsesSharedPointer(%s);' % file_param.name)
        if fsplit:
            pre.append('FileSplit(%s, %s);' % (file_param.name,
                                               'true' if fsplit == 'begin' else 'false'))
        if not fcoll:
            fop = None
        else:
            pre.append('const size_t fkey_ = FileKey(%s);' % file_param.name)
    for p in f.params:
        i = p.index
        b = p.base
        if b in VIRTUAL and p.depth == 0:
            if b == 'MPI_Comm' and coll:
                call_args[i] = 'rcomm_'
            else:
                call_args[i] = '%s.ToReal(%s)' % (VIRTUAL[b], p.name)
            continue
        if b in VIRTUAL and p.depth == 1 and (p.arrays == 1 or (p.const and p.stars == 1)):
            if n in RAW_ARRAYS:
                continue
            if i in lengths:
                expr, cond = lengths[i]
                fmt = {'p%d' % q.index: q.name for q in f.params}
                expr = expr.format(**fmt)
                cond = cond.format(**fmt) if cond else None
                v = 'v_%s' % p.name
                if 'rcomm_' in expr and not any(x.startswith('const MPI_Comm rcomm_') for x in pre):
                    pre.insert(0, 'const MPI_Comm rcomm_ = Comms().ToReal(%s);' % comm_param.name)
                test = '%s != nullptr' % p.name + (' && %s' % cond if cond else '')
                if makes_request:
                    # The library may read the array until the operation completes: the copy
                    # lives as long as the request (gen::OutCollRequest; persistent: for good).
                    pre.append('%s* %s = nullptr;' % (b, v))
                    pre.append('if (%s) {' % test)
                    pre.append('  const int n_ = %s;' % expr)
                    pre.append('  %s = gen::KeptTypes(n_);' % v)
                    kept.append(v)
                    call_args[i] = '(%s == nullptr ? %s : %s)' % (v, p.name, v)
                else:
                    pre.append('std::vector<%s> %s;' % (b, v))
                    pre.append('if (%s) {' % test)
                    pre.append('  const int n_ = %s;' % expr)
                    pre.append('  %s.resize(n_ > 0 ? static_cast<size_t>(n_) : 0);' % v)
                    call_args[i] = '(%s.empty() ? %s : %s.data())' % (v, p.name, v)
                pre.append('  for (int k_ = 0; k_ < n_; ++k_) %s[k_] = %s.ToReal(%s[k_]);' %
                           (v, VIRTUAL[b], p.name))
                pre.append('}')
                continue
            failing = 'an array of %s handles of unknown length (%s)' % (b, p.name)
            continue
        if b in VIRTUAL and p.depth == 1 and p.stars == 1 and not p.const:
            # An output handle.
            if n in RAW_OUTPUTS and b == 'MPI_Comm':
                continue
            if b == 'MPI_Request':
                if n in ('MPI_Start',) or sticky(n):
                    continue  # persistent: the library's own handle
                if fop is not None or file_param is not None:
                    # I/O: the drain waits for it (complete where it stands, or collective on
                    # the file, which every rank of the file started alike).
                    post.append('*%s = gen::OutCollRequest(*%s, MPI_COMM_NULL);' %
                                (p.name, p.name))
                elif coll == 'nonblocking':
                    post.append('*%s = gen::OutCollRequest(*%s, %s%s);' %
                                (p.name, p.name, comm_param.name,
                                 ''.join(', ' + k for k in kept)))
                else:
                    post.append('*%s = gen::OutRequest(*%s, "%s");' % (p.name, p.name, n))
                continue
            if b == 'MPI_Errhandler':
                created = 'create_errhandler' in n or n == 'MPI_Errhandler_create'
                post.append('*%s = gen::OutErrh(*%s, "%s", %s);' %
                            (p.name, p.name, n, 'true' if created else 'false'))
                continue
            post.append('*%s = %s(*%s, "%s");' % (p.name, OUT_FN[b], p.name, n))
            continue
        if b in VIRTUAL:
            failing = 'a %s parameter the generator does not know (%s)' % (b, p.text)
            continue
        if b in UNTRACKED and p.depth == 1 and p.stars == 1 and not p.const:
            kind = UNTRACKED[b]
            if n.endswith('_free') or n == 'MPI_Session_finalize':
                pre.append('const bool live_ = *%s != %s;' % (p.name, NULLS[b]))
                post.append('if (live_) gen::Live(gen::%s, "%s", -1);' % (kind, n))
            elif n in ('MPI_Mrecv', 'MPI_Imrecv', 'MPI_Mrecv_c', 'MPI_Imrecv_c'):
                pre.append('const bool live_ = *%s != MPI_MESSAGE_NULL && *%s != MPI_MESSAGE_NO_PROC;'
                           % (p.name, p.name))
                post.append('if (live_) gen::Live(gen::%s, "%s", -1);' % (kind, n))
            else:
                extra = ' && *%s != MPI_MESSAGE_NO_PROC' % p.name if b == 'MPI_Message' else ''
                post.append('if (*%s != %s%s) gen::Live(gen::%s, "%s", +1);' %
                            (p.name, NULLS[b], extra, kind, n))
            continue
    if sticky(n):
        notes.append('NoteUnsupported("%s");' % n)
    lines = []
    sig = ', '.join(p.text for p in f.params) or 'void'
    lines.append('CAIRN_API int %s(%s) {' % (n, sig))
    lines.append('  if (FromLower()) return CAIRN_REAL(%s)(%s);' % (n, ', '.join(real_args)))
    if n in ALIASES:
        stats.aliases.append(n)
        lines.append('  return %s(%s);' % (ALIASES[n], ', '.join(real_args)))
        lines.append('}')
        lines.append('CAIRN_PMPI(%s)' % n)
        out.append('\n'.join(lines) + '\n')
        return
    if failing:
        stats.failing.append(n)
        lines.append('  return gen::Fail("%s", "%s");' % (n, failing))
        lines.append('}')
        lines.append('CAIRN_PMPI(%s)' % n)
        out.append('\n'.join(lines) + '\n')
        return
    lines.append('  Call call_;')
    for s in notes:
        lines.append('  ' + s)
        stats.sticky.append(n)
    for s in pre:
        lines.append('  ' + s)
    if coll:
        stats.counted.append(n)
        lines.append('  CountCollective(%s);' % comm_param.name)
    elif fop is not None:
        stats.counted.append(n)
        lines.append('  CountKey(fkey_);')
    lines.append('  int rc_;')
    lines.append('  {')
    lines.append('    Lower lower_;')
    lines.append('    rc_ = CAIRN_REAL(%s)(%s);' % (n, ', '.join(call_args)))
    lines.append('  }')
    if coll:
        # Nonblocking: counted complete once started; the drain finishes it (collective_req.cc).
        lines.append('  CompleteCollective(%s);' % comm_param.name)
    elif fop is not None:
        lines.append('  CompleteKey(fkey_);')
    if post:
        lines.append('  if (rc_ != MPI_SUCCESS) return rc_;')
        for s in post:
            lines.append('  ' + s)
        if any('Live(' in s for s in post):
            stats.live.append(n)
    lines.append('  return rc_;')
    lines.append('}')
    lines.append('CAIRN_PMPI(%s)' % n)
    out.append('\n'.join(lines) + '\n')
    stats.generated.append(n)


SKIP = {'MPI_DUP_FN', 'MPI_Pcontrol'}


def handwritten_names(d, exclude):
    names = set()
    for fn in sorted(os.listdir(d)):
        if not fn.endswith('.cc'):
            continue
        p = os.path.join(d, fn)
        if exclude and os.path.abspath(p) == os.path.abspath(exclude):
            continue
        with open(p, encoding='utf-8') as f:
            text = f.read()
        names.update(re.findall(r'CAIRN_PMPI\(\s*(MPI_\w+)\s*\)', text))
        # Wrappers defined by a macro of the file (`#define X(name, ...) ... CAIRN_PMPI(name)`):
        # the first argument of each use.
        joined = re.sub(r'\\\n', ' ', text)
        for m in re.finditer(r'^\s*#\s*define\s+(\w+)\(([^)]*)\)(.*)$', joined, re.M):
            if 'CAIRN_PMPI' not in m.group(3):
                continue
            names.update(re.findall(r'^\s*%s\(\s*(MPI_\w+)' % m.group(1), text, re.M))
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mpi-h', required=True)
    ap.add_argument('--handwritten', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--abi', default='')
    ap.add_argument('--list', action='store_true')
    a = ap.parse_args()
    protos, macros = parse_header(a.mpi_h)
    hand = handwritten_names(a.handwritten, a.out)
    skipped = []
    funcs = []
    for name in sorted(protos):
        if not name.startswith('MPI_'):
            continue
        params, trailer = protos[name]
        why = None
        if name in hand:
            continue
        if name in SKIP:
            why = 'hand-written elsewhere or a callback'
        elif name in macros or 'P' + name in macros:
            why = 'a macro'
        elif 'removed' in trailer:
            why = 'removed from MPI'
        elif 'P' + name not in protos:
            why = 'no PMPI_ prototype'
        f = Func(name, params)
        if why is None and f.variadic:
            why = 'variadic'
        if why:
            skipped.append((name, why))
            continue
        funcs.append(f)
    stats = Emitted()
    bodies = []
    for f in funcs:
        emit(f, bodies, stats)
    hdr = [
        '// Generated by scripts/gen_mpi_wrappers.py from %s (%s): do not edit.' % (a.mpi_h, a.abi),
        '// %d functions generated (%d hand-written in src/mpi, %d skipped); %d counted as'
        % (len(stats.generated) + len(stats.failing) + len(stats.aliases), len(hand), len(skipped),
           len(stats.counted)),
        '// collectives; %d noted as not restartable; %d track live objects of kinds the shim does'
        % (len(stats.sticky), len(stats.live)),
        '// not virtualize; %d refuse to run (arrays of handles of unknown length).' % len(stats.failing),
    ]
    for name, why in skipped:
        hdr.append('//   skipped %s: %s' % (name, why))
    for name in stats.failing:
        hdr.append('//   refuses %s' % name)
    text = '\n'.join(hdr) + '\n' + '''#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <mpi.h>

#include <mutex>
#include <vector>

#include "mpi/coverage.h"
#include "mpi/io.h"
#include "mpi/shim.h"

using namespace cairn::mpi;  // NOLINT

''' + '\n'.join(bodies)
    tmp = a.out + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, a.out)
    if a.list:
        print('\n'.join(hdr))
        print('generated:', ' '.join(stats.generated))
        print('counted:', ' '.join(stats.counted))
        print('sticky:', ' '.join(stats.sticky))
        print('live:', ' '.join(stats.live))
    return 0


if __name__ == '__main__':
    sys.exit(main())
