// Small molecular graphs for the network-level tests (test_schnet,
// test_lowrank): random molecules and their brute-force graphs as gb_batch.
#ifndef GBNET_TEST_GRAPH_H
#define GBNET_TEST_GRAPH_H

#include <random>
#include <vector>

extern "C" {
#include "schnet.h"
}

// A graph of one molecule (no ghosts), as a batch of one graph.
struct Graph {
    std::vector<int> species, offsets, neighbor;
    std::vector<double> vec;
    gb_batch batch() const {
        gb_batch b{};
        b.n_atoms = b.n_centers = (int)species.size();
        b.n_edges = (int)neighbor.size();
        b.species = species.data();
        b.offsets = offsets.data();
        b.neighbor = neighbor.data();
        b.vec = vec.data();
        b.n_graphs = 1;
        return b;
    }
};

// All pairs within rc of a molecule (no periodicity).
inline Graph brute_graph(const std::vector<double> &pos, const std::vector<int> &species, double rc) {
    Graph g;
    int n = (int)species.size();
    g.species = species;
    g.offsets.push_back(0);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            if (i == j) continue;
            double v[3], d2 = 0;
            for (int c = 0; c < 3; ++c) {
                v[c] = pos[3 * j + c] - pos[3 * i + c];
                d2 += v[c] * v[c];
            }
            if (d2 < rc * rc) {
                g.neighbor.push_back(j);
                for (int c = 0; c < 3; ++c) g.vec.push_back(v[c]);
            }
        }
        g.offsets.push_back((int)g.neighbor.size());
    }
    return g;
}

// n atoms at uniform random points of [0, box)^3 (seeded), no two closer than 0.8 A.
inline std::vector<double> random_molecule(int n, unsigned seed, double box) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0.0, box);
    std::vector<double> pos;
    while ((int)pos.size() < 3 * n) {
        double p[3] = {u(rng), u(rng), u(rng)};
        bool ok = true;
        for (size_t k = 0; k < pos.size(); k += 3) {
            double d2 = 0;
            for (int c = 0; c < 3; ++c) d2 += (p[c] - pos[k + c]) * (p[c] - pos[k + c]);
            if (d2 < 0.8 * 0.8) ok = false;
        }
        if (ok) pos.insert(pos.end(), p, p + 3);
    }
    return pos;
}

#endif
