/* The DGA score's character model, shared by the scorer (lib/dgascore.c) and the program that
 * trains it at build time (scripts/gen-dga-model.c): how a label becomes the trigrams whose
 * surprisal is summed. One walk for both, so that the model's mean is measured exactly as
 * labels are scored. Internal to those two. */
#ifndef DNSVIGIL_DGAMODEL_H
#define DNSVIGIL_DGAMODEL_H

#include <stddef.h>
#include <stdint.h>

/* Classes: 0 a word boundary (the label's start and end, and '-', which joins words),
 * 1-26 the letters, 27 any digit. The digits share one class because the benign names hold
 * too few of them to tell each apart; the table charges a digit log2(10) bits more (which of
 * the ten), so the model stays a probability. */
#define DGAMODEL_CLASSES 29
#define DGAMODEL_DIGIT 27
#define DGAMODEL_CELLS (DGAMODEL_CLASSES * DGAMODEL_CLASSES * DGAMODEL_CLASSES)
#define DGAMODEL_LABEL_MAX 63

/* Class of byte c, either case; -1 outside letters, digits and '-'. */
static inline int dgamodel_class(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 1;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 1;
	if (c >= '0' && c <= '9')
		return DGAMODEL_DIGIT;
	return c == '-' ? 0 : -1;
}

/* Table cell of the class c after classes a, b. */
static inline unsigned dgamodel_cell(int a, int b, int c)
{
	return ((unsigned)a * DGAMODEL_CLASSES + (unsigned)b) * DGAMODEL_CLASSES + (unsigned)c;
}

/* The cells of label's transitions in cells: one per character and one for the end, after two
 * boundaries. Their number (len + 1), or -1 when len exceeds 63 or a byte is not a letter,
 * digit or '-'. */
static inline int dgamodel_cells(const char *label, size_t len,
				 uint16_t cells[DGAMODEL_LABEL_MAX + 1])
{
	int a = 0, b = 0, c;
	size_t i;

	if (len > DGAMODEL_LABEL_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		c = dgamodel_class((unsigned char)label[i]);
		if (c < 0)
			return -1;
		cells[i] = (uint16_t)dgamodel_cell(a, b, c);
		a = b;
		b = c;
	}
	cells[len] = (uint16_t)dgamodel_cell(a, b, 0);
	return (int)len + 1;
}

#endif
