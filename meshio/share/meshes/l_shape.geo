// L-shaped domain: the unit square without its upper-right quarter.
// Walls tagged 1 (outer) ; mesh size set by -setnumber h <size> (default 0.05).
DefineConstant[ h = {0.05, Name "mesh size"} ];
Point(1) = {0, 0, 0, h};
Point(2) = {1, 0, 0, h};
Point(3) = {1, 0.5, 0, h};
Point(4) = {0.5, 0.5, 0, h};
Point(5) = {0.5, 1, 0, h};
Point(6) = {0, 1, 0, h};
Line(1) = {1, 2};
Line(2) = {2, 3};
Line(3) = {3, 4};
Line(4) = {4, 5};
Line(5) = {5, 6};
Line(6) = {6, 1};
Curve Loop(1) = {1, 2, 3, 4, 5, 6};
Plane Surface(1) = {1};
Physical Curve("wall", 1) = {1, 2, 3, 4, 5, 6};
Physical Surface("domain", 10) = {1};
