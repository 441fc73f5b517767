// SPDX-License-Identifier: Apache-2.0
// A service that opens its own inspector on every interface (0.0.0.0:PORT, default
// 9229) at start, then leaks like ../../apps/leak.js.
require('inspector').open(Number(process.env.INSPECT_PORT || 9229), '0.0.0.0');
require('../../apps/leak.js');
