// SPDX-License-Identifier: MIT
// cxx_maps: a C++ program that leans on std::map, std::unordered_map,
// std::vector and std::string (all through operator new/delete), for the
// real-software suite. It knows nothing about uswap. Deterministic: the same
// arguments print the same lines on every run (no addresses, no time).
//
//   cxx_maps [MAP_ENTRIES [STRINGS [SHARDS [SEED]]]]
//
// The data is built in SHARDS generations, like a compiler's per-function
// work: each shard is a std::map<uint64_t, Rec> filled in pseudo-random key
// order and queried at random, plus a sorted std::vector<std::string> of
// heap-sized strings; then it is left alone while the next shard is built.
// A second pass revisits every shard in turn (walk, random lookups, erase a
// third and reinsert, a prefix count into one std::unordered_map), and a
// final pass joins the maps with the strings. Each phase prints checksums.
// Memory peaks with all shards alive; only about one shard is hot at a time.
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "../common.h"  // t_mix64

namespace {

struct Rng {  // splitmix64: a fixed sequence for a seed on every platform
	uint64_t s;
	explicit Rng(uint64_t seed) : s(seed) {}
	uint64_t next()
	{
		uint64_t z = t_mix64(s);  // the mix of s + the golden gamma

		s += 0x9e3779b97f4a7c15ULL;
		return z;
	}
};

struct Rec {
	uint64_t a, b;
	uint32_t hits;
};

struct Shard {
	std::map<uint64_t, Rec> m;
	std::vector<uint64_t> keys;
	std::vector<std::string> v;
};

uint64_t mix(uint64_t h, uint64_t v)
{
	return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

uint64_t fnv(const std::string &s)
{
	uint64_t h = 1469598103934665603ULL;
	for (unsigned char c : s)
		h = (h ^ c) * 1099511628211ULL;
	return h;
}

std::string make_string(Rng &r)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	// 24..87 characters: past the small-string buffer, so each is a heap
	// allocation of its own.
	size_t len = 24 + r.next() % 64;
	std::string s(len, ' ');
	uint64_t bits = r.next();
	for (size_t i = 0; i < len; i++) {
		if (i % 10 == 9)
			bits = r.next();
		s[i] = alpha[bits % 36];
		bits /= 36;
	}
	// A small alphabet for the first two characters, so the prefix count
	// has real collisions.
	s[0] = alpha[r.next() % 8];
	s[1] = alpha[r.next() % 8];
	return s;
}

uint64_t map_sum(const std::map<uint64_t, Rec> &m)
{
	uint64_t h = 0;
	for (const auto &kv : m)
		h = mix(h, kv.first + kv.second.a * 3 + kv.second.b * 7 + kv.second.hits);
	return h;
}

}  // namespace

int main(int argc, char **argv)
{
	size_t nmap = argc > 1 ? strtoull(argv[1], nullptr, 0) : 2000000;
	size_t nstr = argc > 2 ? strtoull(argv[2], nullptr, 0) : 1000000;
	size_t nshard = argc > 3 ? strtoull(argv[3], nullptr, 0) : 8;
	uint64_t seed = argc > 4 ? strtoull(argv[4], nullptr, 0) : 20240611;
	if (nshard == 0 || nmap < nshard || nstr < nshard) {
		fprintf(stderr, "usage: cxx_maps [MAP_ENTRIES [STRINGS [SHARDS [SEED]]]]\n");
		return 2;
	}
	size_t per_map = nmap / nshard, per_str = nstr / nshard;
	Rng r(seed);
	std::vector<Shard> shards(nshard);

	// 1. Build: each shard filled and queried while it is the hot one.
	for (size_t s = 0; s < nshard; s++) {
		Shard &sh = shards[s];
		sh.keys.reserve(per_map);
		for (size_t i = 0; i < per_map; i++) {
			uint64_t k = r.next() >> 8;
			sh.keys.push_back(k);
			Rec &rec = sh.m[k];
			rec.a = i;
			rec.b = k * 31 + i;
			rec.hits++;
		}
		uint64_t sum = 0;
		for (size_t i = 0; i < per_map; i++) {
			auto it = sh.m.find(sh.keys[r.next() % per_map]);
			sum += it->second.b;
			it->second.hits++;
		}
		sh.v.reserve(per_str);
		for (size_t i = 0; i < per_str; i++)
			sh.v.push_back(make_string(r));
		std::sort(sh.v.begin(), sh.v.end());
		uint64_t hs = 0;
		for (size_t i = 0; i < sh.v.size(); i += 31)
			hs = mix(hs, fnv(sh.v[i]));
		printf("shard %zu: map %zu entries sum %016" PRIx64 " checksum %016" PRIx64
		       "; strings %zu first %.12s last %.12s checksum %016" PRIx64 "\n",
		       s, sh.m.size(), sum, map_sum(sh.m), sh.v.size(), sh.v.front().c_str(),
		       sh.v.back().c_str(), hs);
	}

	// 2. Revisit each cold shard: lookups, erase a third, reinsert, count.
	std::unordered_map<std::string, uint32_t> prefixes;
	for (size_t s = 0; s < nshard; s++) {
		Shard &sh = shards[s];
		uint64_t found = 0;
		for (size_t i = 0; i < per_map; i += 2) {
			auto it = sh.m.find(sh.keys[r.next() % per_map] ^ ((i / 2) & 1));
			if (it != sh.m.end()) {
				found++;
				it->second.hits += 2;
			}
		}
		size_t erased = 0;
		for (size_t i = 0; i < per_map; i += 3)
			erased += sh.m.erase(sh.keys[i]);
		for (size_t i = 0; i < per_map; i += 3) {
			uint64_t k = r.next() >> 8;
			sh.m.emplace(k, Rec{i, k ^ i, 1});
		}
		std::vector<uint64_t>().swap(sh.keys);
		for (const auto &str : sh.v)
			prefixes[str.substr(0, 4)]++;
		printf("revisit %zu: found %" PRIu64 " erased %zu now %zu checksum %016" PRIx64 "\n",
		       s, found, erased, sh.m.size(), map_sum(sh.m));
	}
	std::vector<std::pair<uint32_t, std::string>> top;
	top.reserve(prefixes.size());
	for (const auto &kv : prefixes)
		top.emplace_back(kv.second, kv.first);
	std::sort(top.begin(), top.end(), [](const auto &x, const auto &y) {
		return x.first != y.first ? x.first > y.first : x.second < y.second;
	});
	printf("prefixes: %zu distinct; top", prefixes.size());
	for (size_t i = 0; i < 5 && i < top.size(); i++)
		printf(" %s=%u", top[i].second.c_str(), top[i].first);
	printf("\n");

	// 3. Join: each map value picks a string of the same shard.
	uint64_t h = 0;
	for (const auto &sh : shards)
		for (const auto &kv : sh.m)
			h = mix(h, fnv(sh.v[kv.second.b % sh.v.size()]) ^ kv.first);
	printf("join: checksum %016" PRIx64 "\n", h);
	return 0;
}
