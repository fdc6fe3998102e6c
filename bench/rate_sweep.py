"""The rate sweep of `make bench-compare` (run by bench/compare.py, see its --help):
1000 subscribers, 128 B payloads, publish rates 100 … 10000 msg/s and then saturation
(`--rate 0`), for each broker. Each point is the achieved deliveries/s and the latency p99
(medians of `runs` runs, each on a fresh broker). A run publishes rate × 5 s messages (at
least 300), capped at 8 s at the best rate reached so far (a short probe at saturation
first). A broker that falls behind the offered rate by more than 2x, or loses messages, is
not offered the higher rates; its saturation point is still measured. Prints a Markdown
table (loss flagged) and draws a PNG of both panels (points with loss left out).

Hand-measured uWebSockets points are drawn too when bench/uws_points.json exists:
    {"source": "how and where they were measured",
     "points": [{"rate": 1000, "deliveries_per_second": 995000, "latency_p99_ms": 11.6}, ...]}
with rate 0 for saturation (and "subscribers", default 1000, if not the sweep's count).
"""
import json
import os
import statistics
import sys

SUBSCRIBERS = 1000
SIZE = 128
RATES = [100, 300, 1000, 3000, 10000]
SECONDS = 5              # of publishing per fixed-rate run, at the offered rate
MAX_SECONDS = 8          # ... at most, at the best rate achieved so far
SATURATION_SECONDS = 4   # of publishing at saturation, at the best rate seen
MIN_MESSAGES = 300
UWS_LABEL = "uWebSockets (measured by hand, see BENCHMARKS.md)"


def bench_arguments(rate, messages):
    return ["--subscribers", str(SUBSCRIBERS), "--size", str(SIZE), "--messages", str(messages),
            "--rate", str(rate), "--window-counts", "deliveries", "--timeout", "60"]


def measure(run_once, rate, messages, runs):
    """Medians over the runs without loss; when every run lost messages, the last run (with its loss)."""
    results = [run_once(bench_arguments(rate, messages)) for _ in range(runs)]
    clean = [r for r in results if r.get("lost") == 0 and isinstance(r.get("deliveries_per_second"), (int, float))]
    if not clean:
        last = results[-1]
        return {"rate": rate, "messages": messages, "deliveries_per_second": last.get("deliveries_per_second"),
                "latency_p99_ms": last.get("latency_p99_ms"), "lost": last.get("lost"),
                "error": last.get("error") or last.get("errors")}
    return {"rate": rate, "messages": messages, "lost": 0,
            "deliveries_per_second": statistics.median(r["deliveries_per_second"] for r in clean),
            "latency_p99_ms": statistics.median(r["latency_p99_ms"] for r in clean)}


def achieved_rate(point):
    """Messages per second that reached every subscriber."""
    return (point.get("deliveries_per_second") or 0) / SUBSCRIBERS


def fell_behind(point):
    return point["lost"] != 0 or achieved_rate(point) < point["rate"] / 2


def sweep_broker(run_once, runs, log=lambda text: None):
    """The fixed rates up to the first the broker cannot keep up with, then saturation.

    A short probe at saturation first, then the best rate achieved so far, give the rate
    that caps each run's length at MAX_SECONDS when the offered rate is out of reach."""
    best = achieved_rate(measure(run_once, 0, MIN_MESSAGES, 1))    # 0 when it failed
    log({"probe at saturation, msg/s": round(best)})
    points = []
    for rate in RATES:
        messages = min(rate * SECONDS, best * MAX_SECONDS) if best else rate * SECONDS
        point = measure(run_once, rate, max(MIN_MESSAGES, int(messages)), runs)
        log(point)
        points.append(point)
        if point["lost"] == 0:
            best = max(best, achieved_rate(point))
        if fell_behind(point):
            break
    point = measure(run_once, 0, max(MIN_MESSAGES, int(best * SATURATION_SECONDS)), runs)
    log(point)
    return points + [point]


def load_uws(path):
    """The hand-measured uWebSockets file ({"source", "points"}), or None when it is absent."""
    if not path or not os.path.exists(path):
        return None
    with open(path) as file:
        data = json.load(file)
    points = [dict(p, subscribers=p.get("subscribers", SUBSCRIBERS)) for p in data["points"]]
    return {"source": data.get("source", ""), "points": points}


def cells(point, swept):
    """A point's two table cells: deliveries/s (with any loss) and p99."""
    if point is None:
        return ["skipped" if swept else "—"] * 2
    if point.get("deliveries_per_second") is None:
        return ["failed"] * 2
    lost = f" (lost {point['lost']:,})" if point["lost"] else ""
    return [f"{point['deliveries_per_second']:,.0f}{lost}", f"{point['latency_p99_ms']:.1f}"]


def table(results):
    """Markdown: one row per rate, deliveries/s and p99 for herald and the peer."""
    names = ["herald", "python websockets"]
    by_rate = {name: {p["rate"]: p for p in results.get(name, [])} for name in names}
    lines = ["| rate (msg/s) | herald deliveries/s | herald p99 ms | peer deliveries/s | peer p99 ms |",
             "| --- | --- | --- | --- | --- |"]
    for rate in RATES + [0]:
        row = [cell for name in names for cell in cells(by_rate[name].get(rate), name in results)]
        lines.append(f"| {'saturation' if rate == 0 else f'{rate:,}'} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot_x(point):
    """The offered rate; saturation at the rate it achieved."""
    if point["rate"]:
        return point["rate"]
    return point["deliveries_per_second"] / point.get("subscribers", SUBSCRIBERS)


def plot_series(panels, points, **style):
    """A line through the fixed-rate points and a star at saturation, in one colour; lossy points left out."""
    shown = [p for p in points if p.get("lost", 0) == 0 and p.get("deliveries_per_second") is not None]
    fixed = [p for p in shown if p["rate"]]
    saturation = [p for p in shown if not p["rate"]]
    for panel, metric in zip(panels, ["latency_p99_ms", "deliveries_per_second"]):
        line, = panel.plot([plot_x(p) for p in fixed], [p[metric] for p in fixed], **style)
        panel.plot([plot_x(p) for p in saturation], [p[metric] for p in saturation], linestyle="none",
                   marker="*", markersize=14, color=line.get_color())


def plot_number(value, _=None):
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def plot(results, png, uws=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    figure, panels = plt.subplots(1, 2, figsize=(13, 5), sharex=True)
    latency, throughput = panels
    styles = {"herald": {"color": "tab:blue"}, "python websockets": {"color": "tab:orange"}}
    for name, points in results.items():
        plot_series(panels, points, marker="o", label=name, **styles.get(name, {}))
    if uws:
        plot_series(panels, uws["points"], marker="s", linestyle="none", color="tab:green", label=UWS_LABEL)
        figure.text(0.01, 0.01, f"uWebSockets: {uws['source']}", fontsize=7, color="dimgrey", wrap=True)
    throughput.plot(RATES, [r * SUBSCRIBERS for r in RATES], linestyle=":", color="grey",
                    label=f"offered × {SUBSCRIBERS} subscribers")
    latency.set(xscale="log", yscale="log", xlabel="offered rate (msg/s)", ylabel="latency p99 (ms)",
                title="p99 latency")
    throughput.set(xscale="log", yscale="log", xlabel="offered rate (msg/s)", ylabel="deliveries/s",
                   title="deliveries per second")
    for panel in panels:
        panel.grid(True, which="both", alpha=0.3)
        for axis in (panel.xaxis, panel.yaxis):
            axis.set_major_formatter(FuncFormatter(plot_number))
            axis.set_minor_formatter(FuncFormatter(lambda value, _: plot_number(value) if f"{value:e}"[0] in "25" else ""))
    handles, labels = throughput.get_legend_handles_labels()
    handles.append(Line2D([], [], linestyle="none", marker="*", markersize=12, color="black"))
    labels.append("saturation (--rate 0), at its achieved rate")
    throughput.legend(handles, labels, fontsize=8, loc="upper left")
    figure.suptitle(f"{SUBSCRIBERS} subscribers, {SIZE} B, one topic; broker on one core (taskset -c 0), "
                    f"herald bench on another (--window 32 --window-counts deliveries)", fontsize=10)
    figure.tight_layout(rect=(0, 0.04 if uws else 0, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    figure.savefig(png, dpi=110)
    plt.close(figure)


def run(run_once_for, names, runs, png, uws_path):
    """Sweeps each broker in `names` (run_once_for(name) gives its runner), prints the table, draws the PNG."""
    uws = load_uws(uws_path)    # before the sweep, so that a broken file stops it early
    results = {}
    for name in names:
        log = lambda point, name=name: print(f"  sweep / {name}: {point}", file=sys.stderr)
        results[name] = sweep_broker(run_once_for(name), runs, log)
    print(f"\nRate sweep, {SUBSCRIBERS} subscribers, {SIZE} B (medians of {runs} run{'s' * (runs != 1)}):\n")
    print(table(results))
    plot(results, png, uws)
    print(f"\nplot: {png}", file=sys.stderr)
    return results
