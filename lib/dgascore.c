/* The DGA score of a registered label: see dgascore.h. */
#include "dgascore.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "dgamodel.h"
#include "dgamodel_table.h" /* generated at build time: dgamodel_bits, DGAMODEL_MEAN_BITS */

double dgascore_label(const char *label, size_t len)
{
	uint16_t cells[DGAMODEL_LABEL_MAX + 1];
	double bits = 0;
	int n;

	if (len < DGASCORE_MIN_LEN || !strncasecmp(label, "xn--", 4))
		return 0;
	n = dgamodel_cells(label, len, cells);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++)
		bits += dgamodel_bits[cells[i]];
	return (bits / n - DGAMODEL_MEAN_BITS) * sqrt(n);
}
