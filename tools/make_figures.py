"""Draw the chapter's schematic figures and the site's logo and favicon.

Run from the repository root:

    python tools/make_figures.py            # writes img/*.svg, static/logo.svg, static/favicon.png
    python tools/make_figures.py --png DIR  # also writes PNG copies to DIR (for checking by eye)
    python tools/make_figures.py --out DIR  # writes DIR/img/*.svg, ... instead

The output is deterministic: the SVG ids are derived from a fixed salt and no
date is written, so running the script twice gives byte-identical files.
Every number in the figures comes from the small made-up tables below, run
through the library's own schedulers and simulator, not from measurements.
"""
import argparse
import math
import os

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from d2l import hpo  # noqa: E402  (the schedulers the figures show)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = ROOT  # where img/ and static/ are written (--out)

# One palette for all figures.
BLUE = '#3b75af'
LIGHT_BLUE = '#a9c9e8'
ORANGE = '#e8833a'
GREY = '#8c8c8c'
LIGHT_GREY = '#e9e9e9'
RED = '#c0392b'
TEXT = '#222222'
# Colours of the rung levels 1, 2, 4, 8 (light to dark).
RUNG_COLOURS = {1: '#c6dcef', 2: '#7fb0da', 4: '#3b75af', 8: '#1b3f66'}
RUNG_TEXT = {1: TEXT, 2: TEXT, 4: 'white', 8: 'white'}

plt.rcParams.update({
    'svg.hashsalt': 'd2l-hpo-figures',
    'svg.fonttype': 'path',  # glyphs as paths: no fonts needed to view
    'font.family': 'DejaVu Sans',
    'font.size': 11,
    'axes.edgecolor': '#444444',
    'axes.labelcolor': TEXT,
    'xtick.color': '#444444',
    'ytick.color': '#444444',
    'figure.facecolor': 'white',
    'axes.facecolor': 'white',
    'savefig.facecolor': 'white',
    'path.simplify': False,
})


def save(fig, name, folder, png_dir=None):
    path = os.path.join(OUT, folder, name + '.svg')
    fig.savefig(path, format='svg',
                metadata={'Date': None, 'Type': None, 'Format': None,
                          'Creator': 'tools/make_figures.py (matplotlib)'})
    if png_dir:
        fig.savefig(os.path.join(png_dir, name + '.png'), format='png',
                    dpi=110)
    plt.close(fig)
    print('wrote', os.path.relpath(path, OUT))


def arrow(ax, start, end, color=TEXT, lw=1.3, style='-|>', rad=0.0,
          ms=11, zorder=4, shrinkA=2, shrinkB=2):
    ax.add_patch(FancyArrowPatch(
        start, end, arrowstyle=style, mutation_scale=ms, color=color,
        lw=lw, connectionstyle=f'arc3,rad={rad}', zorder=zorder,
        shrinkA=shrinkA, shrinkB=shrinkB))


# ---------------------------------------------------------------------------
# Figure 1: synchronous versus asynchronous scheduling on four workers
# ---------------------------------------------------------------------------

# Training time of trial 0, 1, 2, ... (arbitrary time units).
DURATIONS = [4, 6, 3, 5, 2, 5, 3, 6, 4, 3, 5, 2,
             3, 4, 2, 5, 3, 4, 2, 3, 4, 2, 3, 5]


def schedule_sync(durations, n_workers, n_batches):
    """Batches of n_workers trials; a batch starts when the previous ended."""
    jobs, idle, boundaries, t = [], [], [0], 0
    for b in range(n_batches):
        batch = list(range(b * n_workers, (b + 1) * n_workers))
        end = t + max(durations[i] for i in batch)
        for w, i in enumerate(batch):
            jobs.append((w, i, t, t + durations[i]))
            if t + durations[i] < end:
                idle.append((w, t + durations[i], end))
        t = end
        boundaries.append(t)
    return jobs, idle, boundaries


def schedule_async(durations, n_workers, horizon):
    """A free worker starts the next trial at once."""
    free_at = [0] * n_workers
    jobs = []
    for i, d in enumerate(durations):
        w = min(range(n_workers), key=lambda k: (free_at[k], k))
        if free_at[w] >= horizon:
            break
        jobs.append((w, i, free_at[w], free_at[w] + d))
        free_at[w] += d
    return jobs


def draw_gantt(ax, jobs, horizon, n_workers):
    for w, i, s, e in jobs:
        e_vis = min(e, horizon)
        done = e <= horizon  # else the trial runs on past the picture
        ax.add_patch(Rectangle((s, w - 0.36), e_vis - s, 0.72,
                               facecolor=BLUE if done else LIGHT_BLUE,
                               edgecolor='white', lw=1.5, zorder=2))
        ax.text((s + e_vis) / 2, w, str(i), ha='center', va='center',
                color='white' if done else TEXT, fontsize=11,
                fontweight='bold', zorder=3)
    ax.set_ylim(n_workers - 0.5, -0.5)
    ax.set_yticks(range(n_workers))
    ax.set_yticklabels([f'worker {w}' for w in range(n_workers)])
    ax.set_xlim(0, horizon)
    ax.tick_params(axis='y', length=0)
    for side in ('top', 'right', 'left'):
        ax.spines[side].set_visible(False)


def fig_sync_vs_async(png_dir):
    n_workers, n_batches = 4, 3
    jobs, idle, bounds = schedule_sync(DURATIONS, n_workers, n_batches)
    horizon = bounds[-1]
    ajobs = schedule_async(DURATIONS, n_workers, horizon)
    n_sync = len(jobs)
    n_async = sum(e <= horizon for _, _, _, e in ajobs)

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8.0, 5.0), sharex=True)
    draw_gantt(ax1, jobs, horizon, n_workers)
    for w, s, e in idle:
        ax1.add_patch(Rectangle((s, w - 0.36), e - s, 0.72,
                                facecolor=LIGHT_GREY, edgecolor=GREY,
                                hatch='///', lw=0.8, zorder=1))
    for x in bounds[1:-1]:
        ax1.axvline(x, color=TEXT, ls='--', lw=1, zorder=0)
    for b in range(n_batches):
        ax1.text((bounds[b] + bounds[b + 1]) / 2, -0.62, f'batch {b + 1}',
                 ha='center', va='bottom', fontsize=10, color=TEXT)
    ax1.set_title(f'Synchronous: {n_sync} trials finished by time '
                  f'{horizon}', loc='left', fontsize=12, pad=18)

    draw_gantt(ax2, ajobs, horizon, n_workers)
    ax2.set_title(f'Asynchronous: {n_async} trials finished by time '
                  f'{horizon}', loc='left', fontsize=12, pad=8)
    ax2.set_xlabel('time')
    ax2.set_xticks(range(0, horizon + 1, 2))

    busy = Rectangle((0, 0), 1, 1, facecolor=BLUE)
    still = Rectangle((0, 0), 1, 1, facecolor=LIGHT_BLUE)
    wait = Rectangle((0, 0), 1, 1, facecolor=LIGHT_GREY, edgecolor=GREY,
                     hatch='///', lw=0.8)
    fig.legend([busy, still, wait],
               ['trial (number = trial id)', 'not finished by the end',
                'idle: waiting for the batch'],
               loc='lower center', ncol=3, frameon=False, fontsize=10,
               bbox_to_anchor=(0.5, 0.0), handlelength=1.6,
               columnspacing=1.2)
    fig.tight_layout(rect=(0, 0.06, 1, 1), h_pad=1.5)
    save(fig, 'sync_vs_async', 'img', png_dir)


# ---------------------------------------------------------------------------
# Figure 2: successive halving with eta = 2, r_min = 1, r_max = 8
# ---------------------------------------------------------------------------

RUNGS = [1, 2, 4, 8]
# Validation error of trial i after r epochs (made up, but plausible).
SH_ERRORS = {
    1: [0.62, 0.48, 0.71, 0.55, 0.90, 0.51, 0.66, 0.80],
    2: {0: 0.50, 1: 0.41, 3: 0.38, 5: 0.47},
    4: {1: 0.33, 3: 0.30},
    8: {3: 0.24},
}


class TrialIds(hpo.HPOSearcher):
    """Proposes trial 0, 1, 2, ... as configurations {'trial': i}."""

    def __init__(self):
        self.count = 0

    def sample_configuration(self):
        self.count += 1
        return {'trial': self.count - 1}


def successive_halving(errors, eta):
    """One round of d2l.SuccessiveHalvingScheduler on a table of errors:
    {rung: [trial ids evaluated there]} and {rung: set of promoted ids}."""
    rungs = sorted(errors)
    scheduler = hpo.SuccessiveHalvingScheduler(TrialIds(), eta, rungs[0],
                                               rungs[-1])
    evaluated = {r: [] for r in rungs}
    for _ in range(sum(scheduler.num_trials)):
        config = scheduler.suggest()
        r, trial = config['max_epochs'], config['trial']
        evaluated[r].append(trial)
        scheduler.update(config, errors[r][trial])
    promoted = {r: set(evaluated[r_next])
                for r, r_next in zip(rungs[:-1], rungs[1:])}
    return evaluated, promoted


def fig_sh_rungs(png_dir):
    eta = 2
    evaluated, promoted = successive_halving(SH_ERRORS, eta)
    # The dicts above must agree with what the rule promotes.
    for k, r in enumerate(RUNGS[1:]):
        assert set(SH_ERRORS[r]) == promoted[RUNGS[k]], r
    n = len(evaluated[1])
    fig, ax = plt.subplots(figsize=(8.0, 4.4))
    w, h = 0.74, 0.56
    for row, r in enumerate(RUNGS):
        for i in evaluated[r]:
            err = SH_ERRORS[r][i]
            final = r == RUNGS[-1]
            up = i in promoted.get(r, ())
            if final:
                fc, ec, tc = ORANGE, ORANGE, 'white'
            elif up:
                fc, ec, tc = BLUE, BLUE, 'white'
            else:
                fc, ec, tc = 'white', GREY, GREY
            ax.add_patch(Rectangle((i - w / 2, row - h / 2), w, h,
                                   facecolor=fc, edgecolor=ec, lw=1.5,
                                   zorder=2))
            ax.text(i, row, f'{err:.2f}', ha='center', va='center',
                    color=tc, fontsize=11, zorder=3,
                    fontweight='bold' if (up or final) else 'normal')
            if up:
                arrow(ax, (i, row + h / 2), (i, row + 1 - h / 2),
                      color=BLUE, lw=1.6, shrinkA=1, shrinkB=1)
            elif not final:
                ax.plot([i + w / 2 - 0.02], [row + h / 2 - 0.02],
                        marker='x', color=RED, ms=7, mew=2, zorder=4)
        n_r = len(evaluated[r])
        ax.text(-0.62, row, f'r = {r} epoch{"s" if r > 1 else ""}\n'
                f'{n_r} trial{"s" if n_r > 1 else ""}', ha='right',
                va='center', fontsize=11, color=TEXT)
        if r != RUNGS[-1]:
            ax.text(n - 0.38, row + 0.5,
                    f'keep best {n_r // eta} of {n_r}', ha='left',
                    va='center', fontsize=10, color=BLUE, style='italic')
    for i in range(n):
        ax.text(i, -0.55, f'trial {i}', ha='center', va='top',
                fontsize=10, color=TEXT)
    ax.set_xlim(-2.25, n + 1.25)
    ax.set_ylim(-0.95, len(RUNGS) - 0.45)
    ax.axis('off')
    handles = [Rectangle((0, 0), 1, 1, facecolor=BLUE),
               Rectangle((0, 0), 1, 1, facecolor='white', edgecolor=GREY),
               Rectangle((0, 0), 1, 1, facecolor=ORANGE)]
    ax.legend(handles, ['promoted to the next rung', 'stopped',
                        'survivor at r_max'],
              loc='upper center', bbox_to_anchor=(0.5, -0.01), ncol=3,
              frameon=False, fontsize=10)
    ax.set_title('Successive halving (eta = 2, r_min = 1, r_max = 8): '
                 'validation errors per rung', fontsize=12)
    fig.tight_layout()
    save(fig, 'sh_rungs', 'img', png_dir)


# ---------------------------------------------------------------------------
# Figure 3: Hyperband brackets for eta = 2, r_min = 1, r_max = 8
# ---------------------------------------------------------------------------

def fig_hyperband_brackets(png_dir):
    eta, r_min, r_max = 2, 1, 8
    # [(trials, epochs) per rung] per bracket, as Li et al. (2018) size them
    brackets = hpo.HyperbandScheduler(None, eta, r_min, r_max).bracket_sizes()
    fig, ax = plt.subplots(figsize=(8.0, 4.6))
    col_w = 2.2
    sq, gap = 0.2, 0.05
    for b, rungs in enumerate(brackets):
        x0 = b * col_w
        ax.add_patch(Rectangle((x0 + 0.05, -0.5), col_w - 0.1, 4.0,
                               facecolor='#f6f8fb', edgecolor='#d0d7e2',
                               lw=1, zorder=0))
        ax.text(x0 + col_w / 2, 3.62, f'bracket {b}', ha='center',
                va='bottom', fontsize=12, fontweight='bold', color=TEXT)
        budget = sum(n * r for n, r in rungs)
        ax.text(x0 + col_w / 2, -0.62, f'{budget} epochs in total',
                ha='center', va='top', fontsize=10, color=TEXT)
        prev = None
        for n, r in rungs:
            row = RUNGS.index(r)
            total_w = n * sq + (n - 1) * gap
            xs = x0 + col_w / 2 - total_w / 2
            colour = ORANGE if r == r_max else BLUE
            for j in range(n):
                ax.add_patch(Rectangle((xs + j * (sq + gap), row + 0.02),
                                       sq, sq, facecolor=colour,
                                       edgecolor='none', zorder=2))
            ax.text(x0 + col_w / 2, row - 0.06,
                    f'{n} trial{"s" if n > 1 else ""} × {r} ep.',
                    ha='center', va='top', fontsize=10, color=TEXT)
            if prev is not None:
                arrow(ax, (x0 + col_w / 2, prev + 0.3),
                      (x0 + col_w / 2, row - 0.36), color=GREY, lw=1.2,
                      ms=9, shrinkA=0, shrinkB=0)
            prev = row
    for row, r in enumerate(RUNGS):
        ax.text(-0.12, row, f'r = {r}', ha='right', va='center',
                fontsize=11, color=TEXT)
    ax.set_xlim(-1.0, len(brackets) * col_w + 0.05)
    ax.set_ylim(-1.0, 4.05)
    ax.axis('off')
    ax.set_title('Hyperband (eta = 2, r_min = 1, r_max = 8): '
                 'trials started and epochs per rung', fontsize=12)
    fig.tight_layout()
    save(fig, 'hyperband_brackets', 'img', png_dir)


# ---------------------------------------------------------------------------
# Figure 4: asynchronous successive halving (promotion type) over time
# ---------------------------------------------------------------------------

# Time per epoch and "quality" (lower is better) of trial 0, 1, 2, ...
# These made-up values were picked (by trying random seeds) so that no two
# results arrive at a rung at almost the same time, which keeps the figure
# readable.
ASHA_SPEED = [1.45, 1.0, 0.64, 1.44, 1.1, 0.77, 1.3, 1.31, 0.72, 0.75, 0.86,
              1.06, 1.4, 1.02, 0.93, 1.16, 1.36, 0.82, 1.1, 0.75, 1.27, 1.18,
              1.45, 1.02]
ASHA_QUALITY = [0.38, 0.64, 0.54, 0.5, 0.52, 0.65, 0.6, 0.78, 0.31, 0.48,
                0.45, 0.53, 0.68, 0.52, 0.55, 0.64, 0.3, 0.73, 0.77, 0.28,
                0.28, 0.43, 0.59, 0.57]
ASHA_HORIZON = 9.5


def asha_error(trial, r):
    return ASHA_QUALITY[trial] * (0.55 + 0.45 / math.sqrt(r))


class RecordingSimulator(hpo.Simulator):
    """d2l.Simulator that keeps what the figure shows: every job, every
    result at a rung, and when each promotion was decided."""

    def run(self, scheduler):
        self.started, self.results = [], {r: [] for r in RUNGS}
        self.promoted = {}
        return super().run(scheduler)

    def start_job(self, worker, config):
        super().start_job(worker, config)
        trial, job = config['trial'], self.jobs[worker]
        if job['epoch'] > 0:  # resumed from rung job['epoch']
            self.promoted[(trial, job['epoch'])] = float(self.time)
        self.started.append([worker, trial, job['epoch'],
                             job['max_epochs'], float(self.time)])

    def finish_epoch(self, worker):
        job = self.jobs[worker]
        epoch, r, trial = job['epoch'] + 1, job['max_epochs'], \
            job['config']['trial']
        super().finish_epoch(worker)
        if epoch == r:  # the job reached its rung
            self.results[r].append((float(self.time), trial,
                                    asha_error(trial, r)))


def simulate_asha(n_workers, eta, horizon):
    """Promotion-type ASHA (d2l.PromotionASHAScheduler) on simulated
    workers, where trial i takes ASHA_SPEED[i] per epoch.

    Returns the jobs (worker, trial, r_from, r_to, start, end), the results
    {rung: [(time, trial, error)]}, and promotions {(trial, rung): time}.
    """
    n, epochs = len(ASHA_SPEED), RUNGS[-1]
    curves = hpo.LearningCurves(
        [{'trial': i} for i in range(n)],
        [[asha_error(i, r) for r in range(1, epochs + 1)] for i in range(n)],
        [[ASHA_SPEED[i]] * epochs for i in range(n)])
    simulator = RecordingSimulator(curves, n_workers, horizon)
    simulator.run(hpo.PromotionASHAScheduler(TrialIds(), eta, RUNGS[0],
                                             RUNGS[-1]))
    jobs = [(w, trial, r0, r1, start, start + (r1 - r0) * ASHA_SPEED[trial])
            for w, trial, r0, r1, start in simulator.started]
    return jobs, simulator.results, simulator.promoted


def fig_asha_promotions(png_dir):
    n_workers, eta, horizon = 3, 2, ASHA_HORIZON
    jobs, results, promoted = simulate_asha(n_workers, eta, horizon)
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(8.0, 6.2), sharex=True,
        gridspec_kw={'height_ratios': [1.0, 1.6]})

    # Top: what each worker does.
    for w, trial, r0, r1, s, e in jobs:
        e_vis = min(e, horizon)
        ax1.add_patch(Rectangle((s, w - 0.36), e_vis - s, 0.72,
                                facecolor=RUNG_COLOURS[r1],
                                edgecolor='white', lw=1.5, zorder=2))
        if e_vis - s > 0.45:
            ax1.text((s + e_vis) / 2, w, str(trial), ha='center',
                     va='center', fontsize=10, color=RUNG_TEXT[r1],
                     fontweight='bold', zorder=3)
    ax1.set_ylim(n_workers - 0.5, -0.5)
    ax1.set_yticks(range(n_workers))
    ax1.set_yticklabels([f'worker {w}' for w in range(n_workers)])
    ax1.tick_params(axis='y', length=0)
    for side in ('top', 'right', 'left'):
        ax1.spines[side].set_visible(False)
    ax1.set_title('Workers (number = trial id, colour = rung the job '
                  'trains up to)', loc='left', fontsize=11)

    # Bottom: when each trial reports at each rung, and what happens then.
    ys = {r: k for k, r in enumerate(RUNGS)}
    for r in RUNGS:
        for t, trial, err in results[r]:
            y = ys[r]
            key = (trial, r)
            if key in promoted:
                tp = promoted[key]
                nxt = [x for x in results[RUNGS[ys[r] + 1]]
                       if x[1] == trial]
                y0 = y
                if tp > t + 1e-9:  # waited for others to reach the rung
                    y0 = y + 0.3
                    ax2.plot([t, t, tp], [y + 0.16, y0, y0], color=BLUE,
                             lw=1.4, ls=':', zorder=1)
                if nxt:
                    arrow(ax2, (tp, y0), (nxt[0][0], y + 1), color=BLUE,
                          lw=1.4, ms=10, shrinkA=0, shrinkB=9, zorder=1)
                else:  # still training when the picture ends
                    end = min(horizon, tp + 0.9)
                    arrow(ax2, (tp, y0), (end, y0 + 0.45), color=BLUE,
                          lw=1.4, ms=10, shrinkA=0, shrinkB=0, zorder=1)
            ax2.scatter([t], [y], s=330, color=RUNG_COLOURS[r],
                        edgecolors='white', linewidths=1.0, zorder=3)
            ax2.text(t, y, str(trial), ha='center', va='center',
                     fontsize=9, color=RUNG_TEXT[r], fontweight='bold',
                     zorder=4)
            if key not in promoted and r != RUNGS[-1]:
                ax2.plot([t + 0.17], [y - 0.2], marker='x', color=RED,
                         ms=6, mew=1.8, zorder=5)
    ax2.set_yticks(range(len(RUNGS)))
    ax2.set_yticklabels([f'rung r = {r}' for r in RUNGS])
    ax2.set_ylim(-0.55, len(RUNGS) - 0.45)
    ax2.tick_params(axis='y', length=0)
    for side in ('top', 'right', 'left'):
        ax2.spines[side].set_visible(False)
    for k in range(len(RUNGS)):
        ax2.axhline(k, color=LIGHT_GREY, lw=1, zorder=0)
    ax2.set_xlim(0, horizon)
    ax2.set_xlabel('time')
    ax2.set_title('Rungs: circle = result, arrow = promotion, '
                  'dotted = waiting, × = not promoted so far',
                  loc='left', fontsize=11)
    handles = [Rectangle((0, 0), 1, 1, facecolor=RUNG_COLOURS[r])
               for r in RUNGS]
    fig.legend(handles, [f'up to r = {r}' for r in RUNGS],
               title=None, loc='lower center', ncol=4, frameon=False,
               fontsize=10, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.05, 1, 1), h_pad=1.2)
    save(fig, 'asha_promotions', 'img', png_dir)
    return jobs, results, promoted


# ---------------------------------------------------------------------------
# Logo and favicon
# ---------------------------------------------------------------------------

def curve(n=60):
    xs = [i / (n - 1) for i in range(n)]
    ys = [0.2 + 0.75 * math.exp(-4.0 * x) for x in xs]
    return xs, ys


def make_logo(png_dir):
    fig = plt.figure(figsize=(2.4, 0.9))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 2.4)
    ax.set_ylim(0, 0.9)
    ax.axis('off')
    xs, ys = curve()
    ax.plot([0.08 + 0.7 * x for x in xs], [0.08 + 0.75 * y for y in ys],
            color=ORANGE, lw=3, solid_capstyle='round')
    ax.plot([0.08 + 0.7 * xs[-1]], [0.08 + 0.75 * ys[-1]], 'o',
            color=ORANGE, ms=6)
    ax.plot([0.08, 0.08, 0.8], [0.82, 0.08, 0.08], color=BLUE, lw=2)
    ax.text(0.9, 0.42, 'HPO', ha='left', va='center', fontsize=34,
            fontweight='bold', color=BLUE)
    save(fig, 'logo', 'static', png_dir)


def make_favicon():
    fig = plt.figure(figsize=(1, 1), dpi=32)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis('off')
    ax.add_patch(Rectangle((0, 0), 1, 1, facecolor=BLUE, edgecolor='none'))
    xs, ys = curve()
    ax.plot([0.14 + 0.74 * x for x in xs], [0.1 + 0.8 * y for y in ys],
            color='white', lw=3.2, solid_capstyle='round')
    path = os.path.join(OUT, 'static', 'favicon.png')
    fig.savefig(path, dpi=32, metadata={'Software': None})
    plt.close(fig)
    print('wrote', os.path.relpath(path, OUT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--png', default=None,
                        help='folder for PNG copies (not for the book)')
    parser.add_argument('--out', default=ROOT,
                        help='write img/ and static/ below this folder '
                             'instead of the repository')
    args = parser.parse_args()
    global OUT
    OUT = args.out
    if args.png:
        os.makedirs(args.png, exist_ok=True)
    for folder in ('img', 'static'):
        os.makedirs(os.path.join(OUT, folder), exist_ok=True)
    fig_sync_vs_async(args.png)
    fig_sh_rungs(args.png)
    fig_hyperband_brackets(args.png)
    fig_asha_promotions(args.png)
    make_logo(args.png)
    make_favicon()


if __name__ == '__main__':
    main()
