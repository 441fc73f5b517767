// SPDX-License-Identifier: Apache-2.0
/* Places: where memory accumulates, named by its holder and the property or collection
 * that keeps it, aggregated over every instance of the holder — the first part of the
 * leak report ("Counter.hashMap: 210 470 entries (Object), 24.1 MiB").
 *
 * A collection is a node with at least HS_PLACE_FANOUT entries: the nodes first reached
 * from it on a shortest path from the root (its breadth-first children) along element,
 * property, internal or hidden edges. A backing store (an array or hidden node: a Map's
 * table, an object's elements or properties) counts as the object that owns it, and a
 * run of one class along one property name (a linked list: Timeout._idleNext) counts as
 * the collection its head is in. A collection is named by the way it is reached: the
 * property names from the nearest holder whose class is not generic (Object, Array, Map,
 * Set, V8 internals), e.g. process._events.uncaughtException; a list anchored in an
 * object of a named class of another class than its links is named by the anchor's class
 * and the link (TimersList._idleNext); collections with the same holder class and
 * property path are one place. Strings are entries like any other
 * (their kind is "strings"); closures in an _events path are "listeners".
 *
 * Against a baseline (hs_places_growth), a place ranks by how much it grew since the
 * baseline's place of the same name (entries and retained size, now minus then) and
 * only places that gained entries are kept: matched by name, not by V8's object ids,
 * which an inspector session's end renumbers (every inspector-route capture ends one),
 * so they cannot tell an incident's new objects from its baseline's. With is_new (ids
 * new since a baseline, hs_places_compute) a place ranks by the retained size of its
 * new entries; without either, by the retained size of all its entries. Memory: about
 * 20 bytes per node on top of the snapshot and its dominators. */
#ifndef HS_SNAPSHOT_PLACES_H
#define HS_SNAPSHOT_PLACES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "snapshot/dominators.h"
#include "snapshot/parse.h"

#define HS_PLACE_FANOUT 16   /* entries a collection instance needs to be one */
#define HS_PLACE_TOP 10

/* An array of up to `top` places, first the one that grew most:
 *   {"place": "Holder.prop.sub", "holder": "Holder", "property": "prop.sub",
 *    "entry_class": the entries' most common kind by retained size ("Object", "strings",
 *                   "listeners", a class name), "entry_count": entries of that kind (new ones
 *                   with is_new),
 *    "entries": all entries, "retained_bytes": their retained size (an entry dominated
 *    by another entry of the place counted once), "collections": instances aggregated,
 *    "new_entries", "new_bytes" (with is_new only),
 *    "text": the one-line form, "Holder.prop: 3 397 entries (strings), 9.3 MiB"}.
 * first_entries (NULL, or one byte per node of S): set to 1 for every entry of the
 * array's first place (its collections' entries, all of them, not only new ones), 0 for
 * every other node. NULL on out of memory. */
json_t *hs_places_compute(const struct hs_snapshot *s, const struct hs_dominators *dom,
			  const uint8_t *is_new, size_t top, uint8_t *first_entries);

/* A baseline's places, kept by name (holder and property path) with their entries,
 * retained size and entry kinds; NULL on out of memory. The snapshot may be freed after. */
struct hs_places_base;
struct hs_places_base *hs_places_base_compute(const struct hs_snapshot *s, const struct hs_dominators *dom);
void hs_places_base_free(struct hs_places_base *b);
/* The places of S that grew since BASE, as hs_places_compute's array: "new_entries",
 * "new_bytes" and "entry_count" are the growth (now minus the baseline's place of the
 * same name, 0 when it shrank), "entries" and "retained_bytes" all of it now. */
json_t *hs_places_growth(const struct hs_snapshot *s, const struct hs_dominators *dom,
			 const struct hs_places_base *base, size_t top, uint8_t *first_entries);

#endif
