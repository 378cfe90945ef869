/*
 * --limit auto: like a userspace memory.high controller (senpai). Every
 * period, if the memory stall of the period stayed under the target, the
 * limit goes down a step from what is resident; if it rose above, the
 * limit goes back up, by more the further the stall overshot. The size it
 * settled at is the mean of the last ten steps.
 */
#define _GNU_SOURCE
#include "autolimit.h"

#include "config.h"
#include "jbuf.h"
#include "lru.h"
#include "pager.h"
#include "psi.h"
#include "sys.h"

#include <stdio.h>

static struct sys_lock lock;
static bool on;		   /* the limit is auto */
static uint64_t given;	   /* the fixed limit as given, bytes */
static uint64_t cap_pages; /* the frame table allows up to this */

static struct {
	uint64_t last_t, last_some;
	uint64_t min, max;
	uint64_t hist[10]; /* the limit after each of the last 10 steps */
	uint64_t steps;
} autolim;

void autolimit_init(uint64_t now)
{
	on = config.limit_auto;
	given = config.limit_bytes;
	cap_pages = (lru.cap - 1024) / 2;
	autolim.last_t = now;
}

void autolimit_step(uint64_t now, const struct psi_times *p)
{
	uint64_t dt, some, limit, resident = lru.nr_allocated, next;
	double stall, step = config.auto_step;

	sys_lock(&lock);
	dt = now - autolim.last_t;
	some = p->some[PSI_MEMORY] - autolim.last_some;
	limit = pager.limit_pages;
	if (!on || dt < config.auto_period_ns) {
		sys_unlock(&lock);
		return;
	}
	autolim.last_t = now;
	autolim.last_some = p->some[PSI_MEMORY];
	stall = 100.0 * (double)some / (double)dt;
	if (stall <= config.auto_target) {
		next = (uint64_t)((double)(resident < limit ? resident : limit) * (1 - step));
	} else {
		double over = stall / config.auto_target;

		next = (uint64_t)((double)limit * (1 + step * (over < 4 ? over : 4)));
	}
	if (next < 256) /* 1 MiB, as the smallest fixed limit */
		next = 256;
	if (next > cap_pages)
		next = cap_pages;
	pager_set_limit(next << 12);
	autolim.hist[autolim.steps++ % 10] = next;
	if (!autolim.min || next < autolim.min)
		autolim.min = next;
	if (next > autolim.max)
		autolim.max = next;
	sys_unlock(&lock);
}

void autolimit_set(bool want, uint64_t bytes)
{
	sys_lock(&lock);
	if (want && !on) {
		/* Start the controller from the limit in force. */
		struct psi_times p;

		psi_read(&p);
		bytes = pager.limit_pages << 12;
		autolim.last_t = sys_now_ns();
		autolim.last_some = p.some[PSI_MEMORY];
	}
	on = want;
	given = bytes;
	pager_set_limit(on ? pager.limit_pages << 12 : given);
	sys_unlock(&lock);
}

void autolimit_fork_child(void)
{
	lock = (struct sys_lock){ 0 };
}

bool autolimit_on(void)
{
	return on;
}

uint64_t autolimit_given_bytes(void)
{
	return given;
}

uint64_t autolimit_cap_pages(void)
{
	return cap_pages;
}

static uint64_t settled(void)
{
	uint64_t n = autolim.steps < 10 ? autolim.steps : 10, sum = 0;

	for (uint64_t i = 0; i < n; i++)
		sum += autolim.hist[i];
	return n ? sum / n : pager.limit_pages;
}

void autolimit_json(struct jbuf *j)
{
	if (!on)
		return;
	jbuf_printf(
		j,
		", \"auto\": {\"settled_bytes\": %llu, \"final_bytes\": %llu, \"min_bytes\": %llu, "
		"\"max_bytes\": %llu, \"target_pct\": %g, \"steps\": %llu}",
		(unsigned long long)(settled() << 12),
		(unsigned long long)(pager.limit_pages << 12),
		(unsigned long long)(autolim.min << 12), (unsigned long long)(autolim.max << 12),
		config.auto_target, (unsigned long long)autolim.steps);
}

void autolimit_summary(char *buf, size_t len)
{
	buf[0] = 0;
	if (on)
		snprintf(buf, len, ", auto limit settled at %llu MiB (%llu steps)",
			 (unsigned long long)(settled() >> 8), (unsigned long long)autolim.steps);
}
