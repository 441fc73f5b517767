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
 * Set, V8 internals), e.g. process._events.uncaughtException; collections with the same
 * holder class and property path are one place. Strings are entries like any other
 * (their kind is "strings"); closures in an _events path are "listeners".
 *
 * With is_new (the ids new since a baseline), a place ranks by the retained size of its
 * new entries and only places with new entries are kept; without, by the retained size
 * of all its entries. Memory: about 20 bytes per node on top of the snapshot and its
 * dominators. */
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
 * NULL on out of memory. */
json_t *hs_places_compute(const struct hs_snapshot *s, const struct hs_dominators *dom,
			  const uint8_t *is_new, size_t top);

#endif
